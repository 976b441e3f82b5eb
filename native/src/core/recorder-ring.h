// SPDX-License-Identifier: Apache-2.0
// The native engine's flight recorder: ended HTTP/1, HTTP/2 and gRPC exchanges kept as compact
// records in one C++-owned byte ring, bounded by bytes (bodies included), oldest evicted first
// (counted), decoded to TapEvents in JS only when a history query (`tap --since/--last`,
// `record --since`) reads them (proxy/native-recorder.ts).
//
// Why a byte ring of encoded records rather than objects: the js recorder's events cost ~2.2 KB
// of heap each (EVENT_OVERHEAD_BYTES); a record here is the exchange's own bytes, packed:
// numbers as LEB128 varints, times as deltas from the end, header names interned in a bounded
// dictionary, whole HTTP/1 lines and (HTTP/2) whole fields whose value repeats interned in
// others, request and trace ids two hex digits a byte, dates as seconds. Realistic HTTP/1 heads
// (578 bytes as sent, with a request id, a traceparent and a Date) take ~130 bytes; a grpc-js
// unary call with its usual 9 request, 5 response and 2 trailer fields ~65 (docs/decisions.md
// has the measurements), so the native default of 4 MiB holds over 5 minutes at 100
// exchanges/s. The ring is the bound: it is allocated once (pages touched as it fills) and never
// grows; the dictionaries have their own small bounds and live as long as the engine.
//
// HTTP/1 heads are kept exactly as sent (so JS decodes them with the js observer's own parser
// and shows the same header lists), each `Name: value` line's name interned. HTTP/2 header lists
// are kept as the observer reports them (h2-exchange.h: names octets, values the js observer's
// decoded text as UTF-8), pseudo-headers included, in order.
//
// Record (after a u32 length): u64 end_ns; varint conn id, stream; u8 flags; [h2] u8 h2 flags (its
// unprocessed bits carry the reason, nothing follows for them);
// varint end-start ns; [status] varint response-start ns, status; addr src, dst; then
//   HTTP/1: head request, [status] head response, head request trailers, head trailers;
//   HTTP/2: [h2c] str method, scheme, authority, path; fields request headers, [status] fields
//           response headers, fields request trailers, fields trailers;
// varint request bytes, response bytes; [grpc] varint request messages, response messages;
// [grpc status] varint grpc status; [grpc message] str grpc message; [error] str error;
// [bodies] per direction varint size, u8 truncated, str data.
// str = varint length + bytes; addr = `varint (string<<2)` + varint port (an interned host),
// `varint (len<<2|1)` + host bytes + varint port, or `varint (len<<2|2)` + bytes (not host:port);
// head = varint segment count + segments split at CRLF, each one of `varint (string<<2)` (an
// interned whole line), `varint (name<<2|1)` + str value (`Name: value`, the name interned),
// `varint (len<<2|2)` + bytes, or `varint (name<<2|3)` + packed (`Name: value` with a packed
// value, or the request line `METHOD target HTTP/1.x` with the method as the name);
// fields = varint count + per field `varint (pair<<2)` (an interned field), `varint
// (name<<2|1)` + str value (an interned name), `varint (len<<2|2)` + name bytes + str value, or
// `varint (name<<2|3)` + packed value;
// packed = u8 form + payload: 0 hex (a value of lowercase hex digit runs joined by single '-',
// >= 16 bytes: varint run count, varint digits per run, the digits two per byte, high nibble
// first), 1 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, years 1970-9999: varint seconds since
// the epoch), 2 request line (str target, u8 the version's minor digit).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "h1-exchange.h"
#include "h2-exchange.h"

namespace meshtap {

// Bodies captured for the recorder (--recorder-bodies), at most the body limit per direction.
struct RecordedBodies {
  std::string data[2];  // request, response
  uint64_t size[2] = {0, 0};
  bool truncated[2] = {false, false};
  // Keeps what fits of `len` more bytes of direction `d` (0 request, 1 response) under `limit`.
  void Append(int d, const uint8_t* p, size_t len, size_t limit);
  // The whole sizes (the exchange's byte counts: observers hand over the first `limit` bytes
  // only, the rest may be spliced), and truncated where they exceed what was kept.
  void Settle(uint64_t request_bytes, uint64_t response_bytes);
};

// What the recorder learnt from one HTTP/2 connection's previous exchanges, kept by its sink
// and handed to every Push: per header field position (of each of the four field lists), the
// dictionary index that field had, and the connection's encoded addresses once both are
// interned. Why: a connection's exchanges mostly repeat its fields (a client's usual headers, a
// server's usual answer), and a field looked up at stream end was hashed, probed and compared
// while its bytes and the dictionary entry had gone cold (~10 % of the observer's samples under
// h2load -c4 -m32, session 8). A hint is only a guess, checked against the dictionary entry it
// names (entries are never removed or changed, and a field is interned once), so the record is
// the same byte for byte as without it.
struct RecorderFieldHints {
  static constexpr size_t kFields = 16;  // positions remembered per list
  uint32_t index_plus_one[4][kFields] = {};  // request headers, response headers, request trailers, trailers; 0: none
  std::string addrs;  // src then dst as encoded, once neither can encode differently (empty: not yet)
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
  // kHasStatus: a response head was seen (its time, status and fields follow). HTTP/1: status != 0;
  // HTTP/2: also a head whose :status was missing or malformed (status 0), as the js engine keeps it.
  static constexpr uint8_t kInbound = 1, kHttp10 = 2, kHasStatus = 4, kHasError = 8, kHasBodies = 16, kH2 = 32,
                           kResponseComplete = 64;  // HTTP/1: H1Exchange::response_complete
  // HTTP/2 record flags (the second flags byte).
  static constexpr uint8_t kGrpc = 1, kHasGrpcStatus = 2, kHasGrpcMessage = 4, kRequestCompressed = 8, kResponseCompressed = 16, kFromH2c = 32,
                           kUnprocessedRefused = 64, kUnprocessedGoaway = 128;  // h2-exchange.h Unprocessed
  static constexpr size_t kMaxNames = 1024;
  static constexpr size_t kMaxNameBytes = 64;
  // Interned HTTP/2 fields (name, value): a field is interned the second time it is seen (a
  // value seen once, such as a request id, never takes a slot), while the dictionary has room.
  static constexpr size_t kMaxFields = 4096;
  static constexpr size_t kMaxFieldValueBytes = 128;
  static constexpr size_t kMaxFieldDictBytes = 256 * 1024;
  static constexpr size_t kMaxFieldCandidates = 8192;
  // Interned strings: whole HTTP/1 head lines (`Accept: */*`, `HTTP/1.1 200 OK`) and address
  // hosts, each interned the second time it is seen (the same rule as fields), while there is room.
  static constexpr size_t kMaxStrings = 4096;
  static constexpr size_t kMaxStringBytes = 192;
  static constexpr size_t kMaxStringDictBytes = 256 * 1024;
  // `Sun, 06 Nov 1994 08:49:37 GMT`: the only length an IMF-fixdate has.
  static constexpr size_t kImfFixdateBytes = 29;

  explicit RecorderRing(size_t max_bytes);
  ~RecorderRing();
  RecorderRing(const RecorderRing&) = delete;
  RecorderRing& operator=(const RecorderRing&) = delete;

  // Encodes and keeps one ended exchange of connection `conn_id`; evicts the oldest to fit.
  void Push(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H1Exchange& ex, const RecordedBodies* bodies);
  // `hints`: the connection's (see RecorderFieldHints), or null.
  void Push(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H2Exchange& ex, const RecordedBodies* bodies,
            RecorderFieldHints* hints = nullptr);
  // The dictionaries then every record that ended at or after `since_end_ns`, oldest first:
  // varint name count, str names, varint field count, per field varint name index + str value,
  // varint string count, str strings, then [u32 length][record] frames.
  std::string Query(uint64_t since_end_ns);
  RecorderStats Stats();

 private:
  void Encode(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H1Exchange& ex, const RecordedBodies* bodies);  // into scratch_, mu_ held
  template <typename Exchange>
  void EncodeStart(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const Exchange& ex, const RecordedBodies* bodies, uint8_t flags,
                   int h2_flags, RecorderFieldHints* hints, bool has_response_head);  // mu_ held
  void EncodeH2(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H2Exchange& ex, const RecordedBodies* bodies,
                RecorderFieldHints* hints);  // mu_ held
  void EncodeHead(std::string_view head, bool is_request);
  // `hints`: RecorderFieldHints::kFields indexes of this list's positions, or null.
  void EncodeFields(const H2FieldList& fields, uint32_t* hints);
  // True when `addr` can never encode differently (its host interned, or not host:port).
  bool EncodeAddr(std::string_view addr);
  // Appends u8 form + payload when `value` has a packed form (see the layout above).
  bool PutPackedValue(std::string_view value);
  // The index of an interned string (a head line, a host), or -1; a string seen for the second
  // time is interned when there is room (`max_strings`: a lower cap for request lines, whose
  // targets can be many, so that they never take the slots header lines need).
  int64_t StringIndex(std::string_view s, size_t max_strings = kMaxStrings);
  void EncodeBodies(const RecordedBodies* bodies);
  // The index of an interned name, or -1 (interns it when there is room).
  int64_t NameIndex(std::string_view name);
  // The index of interned field (name, value) of hash `h`, or -1 with *slot the free slot it
  // would take.
  int64_t FindField(std::string_view name, std::string_view value, uint64_t h, size_t* slot) const;
  struct InternedField;
  static bool IsField(const InternedField& e, std::string_view name, std::string_view value);
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
  // Interned HTTP/2 fields: keys are u32 name length + name + value (what Query hands out).
  struct InternedField {
    uint32_t name;  // its index in names_
    uint64_t hash;  // FieldHash(name, value)
    std::string key;
  };
  // An open-addressing index of fields_ (slot = index + 1, 0 empty), looked up with a hash of
  // the field read in place: the std::unordered_map it replaced needed the key copied into one
  // string per field, hashed, divided by a prime and a node followed (~4 % of the worker's
  // samples under h2load, perf, session 6). Twice kMaxFields slots keep probes short.
  static constexpr size_t kFieldSlots = 2 * kMaxFields;
  std::vector<uint32_t> field_slots_;
  std::deque<InternedField> fields_;
  size_t field_dict_bytes_ = 0;
  // Hashes of fields seen once (cleared when full): the second sight interns.
  std::unordered_set<uint64_t> field_candidates_;
  // Interned strings (head lines, hosts): keys are views into strings_.
  std::unordered_map<std::string_view, uint32_t> string_index_;
  std::deque<std::string> strings_;
  size_t string_dict_bytes_ = 0;
  std::unordered_set<uint64_t> string_candidates_;
  // The last IMF-fixdate PutPackedValue parsed (last_date_bytes_ 0: none yet) and its seconds.
  char last_date_[kImfFixdateBytes];
  size_t last_date_bytes_ = 0;
  uint64_t last_date_secs_ = 0;
  std::string scratch_;
};

}  // namespace meshtap
