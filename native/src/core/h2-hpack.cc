// SPDX-License-Identifier: Apache-2.0
#include "h2-hpack.h"

#include <nghttp2/nghttp2.h>

#include <new>

#include "h2-frames.h"

namespace meshtap {
namespace {

// RFC 7541 §4.1: every field counts 32 octets besides its name and value.
constexpr size_t kEntryOverhead = 32;
// nghttp2 refuses a string literal longer than this (NGHTTP2_HD_MAX_NV), where the js decoder
// reads it; see TooLongString.
constexpr uint64_t kNghttp2MaxString = 65536;

// An HPACK integer with an N-bit prefix at p[*at, n) (RFC 7541 §5.1), as the js decoder reads it;
// false when truncated or beyond 2^31-1.
bool ReadInteger(const uint8_t* p, size_t n, size_t* at, int prefix_bits, uint64_t* out) {
  if (*at >= n) return false;
  const uint64_t max = (1u << prefix_bits) - 1;
  uint64_t value = p[(*at)++] & max;
  if (value < max) {
    *out = value;
    return true;
  }
  for (uint64_t shift = 0;; shift += 7) {
    if (*at >= n || shift > 31) return false;
    const uint8_t b = p[(*at)++];
    value += static_cast<uint64_t>(b & 0x7f) << shift;
    if (value > 0x7fffffffu) return false;
    if ((b & 0x80) == 0) {
      *out = value;
      return true;
    }
  }
}

// Whether the field representation at p[at, n) (after any size updates) carries a string literal
// longer than nghttp2 accepts and that lies wholly in the block. The js decoder reads such a
// string, and its field (over 64 KiB) is then over the default header-list limit: `too-large`
// where nghttp2 says only "bad block". Called only when nghttp2 failed on that field.
bool TooLongString(const uint8_t* p, size_t n, size_t at) {
  uint64_t v = 0;
  while (at < n && (p[at] & 0xe0) == 0x20) {
    if (!ReadInteger(p, n, &at, 5, &v)) return false;
  }
  if (at >= n || (p[at] & 0x80) != 0) return false;  // indexed: no string
  const bool is_indexing = (p[at] & 0xc0) == 0x40;
  if (!ReadInteger(p, n, &at, is_indexing ? 6 : 4, &v)) return false;
  for (int strings = v == 0 ? 2 : 1; strings > 0; strings--) {
    uint64_t len = 0;
    if (!ReadInteger(p, n, &at, 7, &len) || len > n - at) return false;
    if (len > kNghttp2MaxString) return true;
    at += len;
  }
  return false;
}

}  // namespace

HpackDecoder::HpackDecoder(size_t max_header_list_bytes, size_t max_table_bytes)
    : max_header_list_bytes_(max_header_list_bytes),
      max_table_bytes_(max_table_bytes),
      allowed_table_bytes_(h2::kDefaultHeaderTableSize),
      limit_(h2::kDefaultHeaderTableSize) {
  if (nghttp2_hd_inflate_new2(&inflater_, nullptr) != 0) throw std::bad_alloc();
}

HpackDecoder::~HpackDecoder() { nghttp2_hd_inflate_del(inflater_); }

void HpackDecoder::SetAllowedTableSize(uint32_t bytes) {
  if (bytes <= allowed_table_bytes_) return;
  allowed_table_bytes_ = bytes;
  // What a size update may ask for (hpack-decoder.ts): the advertised size, bounded by our own
  // table limit (never below the protocol default). Grow-only, so nghttp2 never expects an
  // update (it does when told a smaller size), and its table grows only when the encoder says so.
  const uint64_t cap = max_table_bytes_ > h2::kDefaultHeaderTableSize ? max_table_bytes_ : h2::kDefaultHeaderTableSize;
  const uint64_t limit = allowed_table_bytes_ < cap ? allowed_table_bytes_ : cap;
  if (limit <= limit_ || failed_) return;
  limit_ = limit;
  // Between blocks always (a block is decoded whole): only out of memory can fail here.
  const int rv = nghttp2_hd_inflate_change_table_size(inflater_, static_cast<size_t>(limit));
  if (rv == NGHTTP2_ERR_NOMEM) throw std::bad_alloc();
  if (rv != 0) failed_ = true;
}

HpackResult HpackDecoder::Decode(const uint8_t* p, size_t n, H2FieldList* out) {
  if (failed_) return HpackResult::kHpack;
  size_t at = 0;
  size_t list_bytes = 0;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t rv = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, p + at, n - at, 1);
    if (rv < 0) {
      failed_ = true;
      if (rv == NGHTTP2_ERR_NOMEM) throw std::bad_alloc();
      return n > kNghttp2MaxString && TooLongString(p, n, at) ? HpackResult::kTooLarge : HpackResult::kHpack;
    }
    at += static_cast<size_t>(rv);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      list_bytes += nv.namelen + nv.valuelen + kEntryOverhead;
      if (list_bytes > max_header_list_bytes_) {
        failed_ = true;
        return HpackResult::kTooLarge;
      }
      // Built in place: no temporary field moved into the list; appended to the new empty
      // strings (assign goes through the general _M_replace, ~3 % of the observer's samples).
      H2Field& field = out->emplace_back();
      field.name.append(reinterpret_cast<const char*>(nv.name), nv.namelen);
      field.value.append(reinterpret_cast<const char*>(nv.value), nv.valuelen);
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater_);
      return HpackResult::kOk;
    }
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && at == n) {
      // Not reached with in_final set (nghttp2 reports FINAL), kept as a guard against a loop.
      failed_ = true;
      return HpackResult::kHpack;
    }
  }
}

}  // namespace meshtap
