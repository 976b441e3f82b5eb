// SPDX-License-Identifier: Apache-2.0
// HPACK header block decoding for one direction of an HTTP/2 connection, through libnghttp2's
// inflater (nghttp2_hd_inflate_*: linked statically, -Bsymbolic, never node's own copy; see
// NATIVE.md "the symbol trap"), with the rules of the js decoder (proxy/h2/hpack-decoder.ts) on
// top, so that both engines accept and refuse the same blocks:
//  - the dynamic table may grow only to the largest SETTINGS_HEADER_TABLE_SIZE the decoding side
//    advertised (never below the protocol default), and never past max(max_table_bytes, 4096):
//    a size update above that is an error;
//  - the decoded header list (name + value + 32 per field) is bounded by max_header_list_bytes,
//    summed here (nghttp2 has no such bound): over it is `too-large`, not `hpack`;
//  - errors are sticky (nghttp2's are too: every later call returns NGHTTP2_ERR_HEADER_COMP).
// Fields are octets, names as on the wire (nghttp2 does not validate them, nor does the js
// decoder). A bad block returns a result, never throws (out of memory aside).
#pragma once

#include <cstddef>
#include <cstdint>

#include "h2-exchange.h"

struct nghttp2_hd_inflater;

namespace meshtap {

enum class HpackResult { kOk, kHpack, kTooLarge };

class HpackDecoder {
 public:
  HpackDecoder(size_t max_header_list_bytes, size_t max_table_bytes);
  ~HpackDecoder();
  HpackDecoder(const HpackDecoder&) = delete;
  HpackDecoder& operator=(const HpackDecoder&) = delete;

  // The decoding side advertised SETTINGS_HEADER_TABLE_SIZE (grow-only, as the js decoder: the
  // encoder learns it only later, and a decrease applies only once acknowledged).
  void SetAllowedTableSize(uint32_t bytes);
  // Decodes the complete block p[0, n), appending its fields to `out`.
  HpackResult Decode(const uint8_t* p, size_t n, H2FieldList* out);

 private:
  nghttp2_hd_inflater* inflater_ = nullptr;
  const size_t max_header_list_bytes_;
  const size_t max_table_bytes_;
  // The largest size update the peer's encoder may send (what nghttp2 was told).
  uint64_t allowed_table_bytes_;
  uint64_t limit_;
  bool failed_ = false;
};

}  // namespace meshtap
