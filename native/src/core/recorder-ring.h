// SPDX-License-Identifier: Apache-2.0
// The native engine's flight recorder: ended HTTP/1 exchanges kept as compact records in one
// C++-owned byte ring, bounded by bytes, oldest evicted first (counted), decoded to TapEvents
// in JS only when a history query (`tap --since/--last`, `record --since`) reads them.
//
// Why a byte ring of encoded records rather than objects: the js recorder's events cost ~2.2 KB
// of heap each (EVENT_OVERHEAD_BYTES); a record here is the exchange's own bytes, packed:
// numbers as LEB128 varints, times as deltas from the end, heads kept exactly as sent (so JS
// decodes them with the js observer's own parser and shows the same header lists) but with each
// `Name: value` line's name interned in a bounded dictionary. A small curl exchange with 3
// request and 5 response headers takes ~200 bytes (docs/decisions.md has the measurement), so
// the js default of 8 MiB holds ~40,000 exchanges here. The ring is the bound: it is allocated
// once (pages touched as it fills) and never grows; the dictionary has its own small bound.
//
// Record (after a u32 length): u64 end_ns; varint conn id, stream; u8 flags; varint
// end-start ns; [status] varint response-start ns, status; str src, dst; head request,
// [status] head response, head request trailers, head trailers; varint request bytes,
// response bytes; [error] str error; [bodies] per direction varint size, u8 truncated, str data.
// str = varint length + bytes; head = varint segment count + segments split at CRLF, each
// `varint (index<<1)` + str value for an interned `Name: value` line, else `varint (len<<1|1)` + bytes.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "h1-exchange.h"

namespace meshtap {

// Bodies captured for the recorder (--recorder-bodies), at most the body limit per direction.
struct RecordedBodies {
  std::string data[2];  // request, response
  uint64_t size[2] = {0, 0};
  bool truncated[2] = {false, false};
};

struct RecorderStats {
  uint64_t bytes = 0;    // record bytes held (what the bound counts)
  uint64_t count = 0;    // exchanges held
  uint64_t evicted = 0;  // exchanges evicted (oldest first) or refused (larger than the ring)
  uint64_t oldest_end_ns = 0;
};

class RecorderRing {
 public:
  // Record flags.
  static constexpr uint8_t kInbound = 1, kHttp10 = 2, kHasStatus = 4, kHasError = 8, kHasBodies = 16;
  static constexpr size_t kMaxNames = 1024;
  static constexpr size_t kMaxNameBytes = 64;

  explicit RecorderRing(size_t max_bytes);
  ~RecorderRing();
  RecorderRing(const RecorderRing&) = delete;
  RecorderRing& operator=(const RecorderRing&) = delete;

  // Encodes and keeps one ended exchange of connection `conn_id`; evicts the oldest to fit.
  void Push(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H1Exchange& ex, const RecordedBodies* bodies);
  // The dictionary then every record that ended at or after `since_end_ns`, oldest first:
  // varint name count, str names, then [u32 length][record] frames.
  std::string Query(uint64_t since_end_ns);
  RecorderStats Stats();

 private:
  void Encode(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H1Exchange& ex, const RecordedBodies* bodies);  // into scratch_, mu_ held
  void EncodeHead(std::string_view head);
  void Store(const std::string& record);
  void EvictOldest();
  uint32_t LengthAt(size_t at) const;

  const size_t cap_;
  std::mutex mu_;
  uint8_t* buf_ = nullptr;
  // Records occupy [head_, tail_), or [head_, wrap_) then [0, tail_) when wrapped_.
  size_t head_ = 0, tail_ = 0, wrap_ = 0;
  bool wrapped_ = false;
  RecorderStats stats_;
  // Interned names; the index keys are views into names_ (a deque: entries never move), so a
  // lookup allocates nothing.
  std::unordered_map<std::string_view, uint32_t> name_index_;
  std::deque<std::string> names_;
  std::string scratch_;
};

}  // namespace meshtap
