// SPDX-License-Identifier: Apache-2.0
// HTTP/1 heads for the native observer: incremental collection (proxy/http1/head-reader.ts),
// validation and framing facts (head-parse.ts) and body framing (framing.ts), ported rule for
// rule so that both engines accept, refuse and frame exactly the same messages.
//
// Why a port and not llhttp: the js observer is the oracle, and llhttp 8.1 differs from it in
// ways no lenient flag fixes (it refuses methods outside its table such as `FOO`, versions
// other than 0.9/1.0/1.1/2.0, and accepts obs-fold), so every difference would need a second
// check beside it: two parsers, and divergence hiding between them (docs/decisions.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "h1-exchange.h"

namespace meshtap {

// HeadReader::Feed results that are not an offset.
constexpr int64_t kHeadNeedMore = -1;
constexpr int64_t kHeadBareLf = -2;
constexpr int64_t kHeadTooLarge = -3;

// Collects one head (or trailer section) across chunks; a bare LF never ends a line.
class HeadReader {
 public:
  HeadReader(size_t max_bytes, bool is_trailer) : max_bytes_(max_bytes), is_trailer_(is_trailer) {}
  // True when some bytes of a head were consumed but the head is not complete.
  bool IsStarted() const { return held_.size() > 0; }
  void Reset();
  // Consumes chunk[offset, len). Returns the offset after the head when complete (then `head`
  // holds it: CRLF-terminated lines ending with the empty line), or a kHead… code.
  int64_t Feed(const uint8_t* chunk, size_t len, size_t offset);
  std::string head;

 private:
  const size_t max_bytes_;
  const bool is_trailer_;
  std::string held_;
  size_t line_start_ = 0;
  int prev_byte_ = -1;
};

// Why a head or body is refused (a GiveUpReason).
using HeadError = GiveUpReason;

// The header facts framing depends on (proxy/http1/framing.ts HeadFacts).
struct HeadFacts {
  std::string host;  // decoded value of the first Host field
  bool has_host = false;
  bool has_upgrade = false;
  bool has_content_length = false;
  std::vector<std::string> content_length;  // decoded values, one per field line
  bool has_transfer_encoding = false;
  std::vector<std::string> transfer_encoding;
  // Values of Upgrade fields (decoded), for the h2c check.
  std::vector<std::string> upgrade;
};

struct Framing {
  enum Kind { kNone, kLength, kChunked, kClose } kind = kNone;
  uint64_t length = 0;
};

struct RequestHead {
  std::string method;
  std::string target;  // decoded (percent)
  int minor = 1;
  HeadFacts facts;
};

struct ResponseHead {
  int status = 0;
  int minor = 1;
  HeadFacts facts;
};

// Parse results: true when valid; otherwise *error says why.
bool ParseRequestHead(const std::string& text, RequestHead* out, HeadError* error);
bool ParseResponseHead(const std::string& text, ResponseHead* out, HeadError* error);
// Validates a complete trailer section (field lines then the empty line).
bool ParseFieldSection(const std::string& text, HeadError* error);

bool RequestFraming(const HeadFacts& facts, int minor, Framing* out, HeadError* error);
bool ResponseFraming(const HeadFacts& facts, int minor, Framing* out, HeadError* error);

// Whether any of `values` (Upgrade field values) names the `h2c` token.
bool UpgradesToH2c(const std::vector<std::string>& values);

}  // namespace meshtap
