// SPDX-License-Identifier: Apache-2.0
// gRPC over HTTP/2 details the native HTTP/2 observer needs, as proxy/h2/grpc.ts has them:
// counting length-prefixed messages in one direction of a stream (across DATA frames and chunk
// boundaries, without copying), recognising a gRPC request by its content-type, and reading
// grpc-status / grpc-message (percent-decoded) from a trailer block. Plain C++, no allocation
// on the counting path; never throws except std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "h2-exchange.h"

namespace meshtap {

// The 5-byte prefix of every gRPC message: a flag byte (1 = compressed), a big-endian length.
constexpr size_t kGrpcFrameHeaderBytes = 5;

// Counts messages of one direction (grpc.ts GrpcMessageCounter): state survives any split of
// the bytes, so the count does not depend on where DATA frames or reads cut them.
class GrpcMessageCounter {
 public:
  void Feed(const uint8_t* data, size_t len);
  uint32_t messages() const { return messages_; }
  // A message with the compressed flag (exactly 1, as grpc.ts) was seen.
  bool is_compressed() const { return is_compressed_; }

 private:
  uint32_t messages_ = 0;
  bool is_compressed_ = false;
  uint8_t prefix_fill_ = 0;  // prefix bytes read of the current message (0..5)
  uint32_t body_length_ = 0;
  uint32_t body_left_ = 0;
};

// True when the first content-type field starts with "application/grpc" (grpc.ts
// isGrpcContentType: `application/grpc`, `+proto`, `+json`, …).
bool IsGrpcContentType(const H2FieldList& headers);

// grpc-status / grpc-message of one header block (grpc.ts readGrpcStatus): the last field of
// each name wins; is_malformed when the last grpc-status was there but not 1..10 digits.
struct GrpcStatusRead {
  std::optional<int64_t> status;
  std::optional<std::string> message;  // percent-decoded, valid UTF-8
  bool is_malformed = false;
};
GrpcStatusRead ReadGrpcStatus(const H2FieldList& headers);

// gRPC percent-decoding (PROTOCOL-HTTP2.md; grpc.ts percentDecode) of a field value as the
// observer hands it over (UTF-8 of the js engine's decodeFieldText string): the value becomes
// octets as JS's Buffer.from(value, 'latin1') makes them, `%XX` become bytes (a malformed escape
// is kept as sent), and the octets are read as UTF-8 the way Buffer#toString('utf8') reads them
// (each ill-formed subsequence → U+FFFD). The result is the UTF-8 encoding of exactly the string
// the js engine reports.
std::string GrpcPercentDecode(const std::string& value);

// What Buffer.from(s, 'latin1') makes of the JS string whose UTF-8 is `utf8`: the low byte of
// each UTF-16 code unit (bytes that are not UTF-8 are kept as they are).
std::string JsLatin1Octets(const std::string& utf8);

// The UTF-8 encoding of what Buffer#toString('utf8') makes of `octets` (WHATWG decode with
// replacement: maximal ill-formed subparts → one U+FFFD each).
std::string Utf8Sanitize(const std::string& octets);

}  // namespace meshtap
