// SPDX-License-Identifier: Apache-2.0
#include "recorder-ring.h"

#include <cstdlib>
#include <cstring>

namespace meshtap {
namespace {

constexpr size_t kFrameBytes = 4;  // u32 record length before each record

inline void PutVarint(std::string* out, uint64_t v) {
  if (v < 0x80) {  // most: a field's index, a count, a flag-sized number
    out->push_back(static_cast<char>(v));
    return;
  }
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutStr(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s.data(), s.size());
}

// Never interned: fields whose values change with every request or second (never worth a
// dictionary slot), and the default sensitive headers (tap-protocol/events.ts
// DEFAULT_SENSITIVE_HEADERS), so that a credential is held no longer than the records that carry
// it (the dictionaries live as long as the engine; the ring evicts).
constexpr std::string_view kVolatile[] = {"date", "x-request-id", "traceparent", "tracestate", "grpc-timeout", "x-b3-traceid", "x-b3-spanid",
                                          "x-b3-parentspanid", "x-amzn-trace-id", "last-modified", "expires", "etag",
                                          "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token",
                                          "api-key", "apikey", "x-goog-api-key", "ocp-apim-subscription-key", "x-functions-key",
                                          "x-vault-token", "private-token", "x-access-token", "x-amz-security-token"};

// Bit n set: some volatile name is n bytes long (all are shorter than 32).
constexpr uint32_t kVolatileLengths = [] {
  uint32_t mask = 0;
  for (auto v : kVolatile) mask |= 1u << v.size();
  return mask;
}();

// Asked of every HTTP/2 field the recorder encodes, so most answers come from the length and
// the first byte (pseudo-headers start with ':', which no volatile name does).
bool IsVolatileField(std::string_view name) {
  if (name.size() >= 32 || (kVolatileLengths & (1u << name.size())) == 0) return false;
  for (auto v : kVolatile) {
    if (v.size() == name.size() && v[0] == name[0] && v == name) return true;
  }
  return false;
}

// The same for an HTTP/1 head line (`Date: …`): its name compared without case.
bool IsVolatileLine(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view name = line.substr(0, colon);
  for (auto v : kVolatile) {
    if (v.size() != name.size()) continue;
    size_t i = 0;
    while (i < v.size() && (name[i] | 0x20) == v[i]) i++;
    if (i == v.size()) return true;
  }
  return false;
}

// Packed form 0: a value of lowercase hex digit runs joined by single dashes (request ids, trace
// ids), at least 16 bytes so that packing pays.
// The value of a lowercase hex digit, 16 for '-', 17 for any other byte.
constexpr auto kHexClass = [] {
  struct Table {
    uint8_t v[256];
  } t{};
  for (int c = 0; c < 256; c++) t.v[c] = 17;
  for (int c = '0'; c <= '9'; c++) t.v[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; c++) t.v[c] = static_cast<uint8_t>(c - 'a' + 10);
  t.v[static_cast<uint8_t>('-')] = 16;
  return t;
}();
constexpr size_t kMaxHexRuns = 16;

// Appends packed form 0 when `v` is lowercase hex digit runs joined by single dashes (request
// ids, trace ids), at least 16 bytes so that packing pays, at most kMaxHexRuns runs.
bool PutHexRuns(std::string* out, std::string_view v) {
  if (v.size() < 16 || v.size() > 1024) return false;
  uint8_t packed[512];
  size_t runs[kMaxHexRuns];
  size_t run_count = 0, digits = 0, run_start = 0;
  for (size_t i = 0; i < v.size(); i++) {
    const uint8_t x = kHexClass.v[static_cast<uint8_t>(v[i])];
    if (x < 16) {
      if ((digits & 1) == 0) packed[digits >> 1] = static_cast<uint8_t>(x << 4);
      else packed[digits >> 1] |= x;
      digits++;
      continue;
    }
    // A dash ends a non-empty run (not the first byte, not after another dash).
    if (x != 16 || i == run_start || run_count + 1 >= kMaxHexRuns) return false;
    runs[run_count++] = i - run_start;
    run_start = i + 1;
  }
  if (run_start == v.size()) return false;  // a trailing dash
  runs[run_count++] = v.size() - run_start;
  out->push_back(0);
  PutVarint(out, run_count);
  for (size_t r = 0; r < run_count; r++) PutVarint(out, runs[r]);
  out->append(reinterpret_cast<const char*>(packed), (digits + 1) >> 1);
  return true;
}

constexpr std::string_view kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};  // 1970-01-01 was a Thursday
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view v, size_t at, size_t n, unsigned* out) {
  unsigned x = 0;
  for (size_t i = at; i < at + n; i++) {
    if (v[i] < '0' || v[i] > '9') return false;
    x = x * 10 + static_cast<unsigned>(v[i] - '0');
  }
  *out = x;
  return true;
}

// Packed form 1: an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7) of 1970-9999
// whose weekday is right, so that seconds since the epoch give it back byte for byte.
bool ParseImfFixdate(std::string_view v, uint64_t* secs) {
  if (v.size() != RecorderRing::kImfFixdateBytes || v.substr(3, 2) != ", " || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' || v[19] != ':' || v[22] != ':' || v.substr(25) != " GMT") return false;
  unsigned day, year, hh, mm, ss;
  if (!Digits(v, 5, 2, &day) || !Digits(v, 12, 4, &year) || !Digits(v, 17, 2, &hh) || !Digits(v, 20, 2, &mm) || !Digits(v, 23, 2, &ss)) return false;
  unsigned month = 0;
  while (month < 12 && kMonths[month] != v.substr(8, 3)) month++;
  if (month == 12 || year < 1970 || day < 1 || hh > 23 || mm > 59 || ss > 59) return false;
  static constexpr unsigned kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool is_leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kMonthDays[month] || (month == 1 && day == 29 && !is_leap)) return false;
  const int64_t days = DaysFromCivil(year, month + 1, day);
  if (kDays[days % 7] != v.substr(0, 3)) return false;
  *secs = static_cast<uint64_t>(days) * 86400 + hh * 3600 + mm * 60 + ss;
  return true;
}

// `host:port` with a canonical decimal port (what FormatAddr writes): the port, or -1.
int32_t PortOf(std::string_view addr, size_t colon) {
  const std::string_view p = addr.substr(colon + 1);
  if (p.empty() || p.size() > 5 || (p.size() > 1 && p[0] == '0')) return -1;
  unsigned port;
  if (!Digits(p, 0, p.size(), &port) || port > 65535) return -1;
  return static_cast<int32_t>(port);
}

// A 64-bit hash of a field (name, value) read in place, for the field dictionary's slots and
// candidates: each length is mixed in before its bytes, so that ("ab", "c") and ("a", "bc") differ.
uint64_t Mix(uint64_t h, uint64_t w) {
  h = (h ^ w) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

uint64_t Load32(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// Fixed-size loads only (a variable-length memcpy is a call): the tail as one overlapping word.
uint64_t MixBytes(uint64_t h, std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 < n; i += 8) h = Mix(h, Load64(p + i));
    return Mix(h, Load64(p + n - 8));
  }
  if (n >= 4) return Mix(h, (Load32(p) << 32) | Load32(p + n - 4));
  if (n > 0) return Mix(h, (static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16) | (static_cast<uint64_t>(static_cast<uint8_t>(p[n >> 1])) << 8) | static_cast<uint8_t>(p[n - 1]));
  return Mix(h, 0);
}

uint64_t FieldHash(std::string_view name, std::string_view value) {
  return MixBytes(Mix(MixBytes(Mix(0x243f6a8885a308d3ull, name.size()), name), value.size()), value);
}

}  // namespace

void RecordedBodies::Append(int d, const uint8_t* p, size_t len, size_t limit) {
  const size_t room = limit > data[d].size() ? limit - data[d].size() : 0;
  data[d].append(reinterpret_cast<const char*>(p), len < room ? len : room);
}

void RecordedBodies::Settle(uint64_t request_bytes, uint64_t response_bytes) {
  size[0] = request_bytes;
  size[1] = response_bytes;
  for (int d = 0; d < 2; d++) truncated[d] = size[d] > data[d].size();
}

RecorderRing::RecorderRing(size_t max_bytes) : cap_(max_bytes) {
  name_index_.reserve(kMaxNames);
  string_index_.reserve(kMaxStrings);
  field_slots_.assign(kFieldSlots, 0);
  // malloc, not new[]: the pages of a large block are mapped lazily, so an idle recorder holds
  // only what it has filled.
  if (cap_ > 0) buf_ = static_cast<uint8_t*>(std::malloc(cap_));
}

RecorderRing::~RecorderRing() { std::free(buf_); }

int64_t RecorderRing::NameIndex(std::string_view name) {
  if (name.size() > kMaxNameBytes) return -1;
  auto it = name_index_.find(name);
  if (it != name_index_.end()) return it->second;
  if (names_.size() >= kMaxNames) return -1;
  const auto index = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  name_index_.emplace(std::string_view(names_.back()), index);
  return index;
}

int64_t RecorderRing::StringIndex(std::string_view str, size_t max_strings) {
  if (str.size() > kMaxStringBytes) return -1;
  auto it = string_index_.find(str);
  if (it != string_index_.end()) return it->second;
  if (strings_.size() >= max_strings || string_dict_bytes_ + str.size() > kMaxStringDictBytes) return -1;
  const uint64_t h = std::hash<std::string_view>()(str);
  if (string_candidates_.erase(h) == 0) {
    if (string_candidates_.size() >= kMaxFieldCandidates) string_candidates_.clear();
    string_candidates_.insert(h);
    return -1;
  }
  const auto index = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(str);
  string_index_.emplace(std::string_view(strings_.back()), index);
  string_dict_bytes_ += str.size();
  return index;
}

int64_t RecorderRing::FindField(std::string_view name, std::string_view value, uint64_t h, size_t* slot) const {
  // Linear probing over at least twice as many slots as fields (never removed): an empty slot
  // ends the search, and is where the field goes if it is interned now.
  for (size_t i = h & (kFieldSlots - 1);; i = (i + 1) & (kFieldSlots - 1)) {
    const uint32_t s = field_slots_[i];
    if (s == 0) {
      *slot = i;
      return -1;
    }
    const InternedField& e = fields_[s - 1];
    if (e.hash == h && IsField(e, name, value)) return s - 1;
  }
}

bool RecorderRing::IsField(const InternedField& e, std::string_view name, std::string_view value) {
  if (e.key.size() != 4 + name.size() + value.size()) return false;
  uint32_t name_len;
  std::memcpy(&name_len, e.key.data(), 4);
  return name_len == name.size() && std::memcmp(e.key.data() + 4, name.data(), name.size()) == 0 &&
         std::memcmp(e.key.data() + 4 + name.size(), value.data(), value.size()) == 0;
}

bool RecorderRing::PutPackedValue(std::string_view value) {
  uint64_t secs;
  // A Date repeats for a whole second across every exchange: the last one parsed is remembered,
  // and a value equal to it has its seconds without the parse (~3 % of the worker's samples under
  // h2load, where every response carries one; session 8).
  const bool is_last_date = last_date_bytes_ != 0 && value.size() == last_date_bytes_ && std::memcmp(value.data(), last_date_, last_date_bytes_) == 0;
  if (is_last_date || ParseImfFixdate(value, &secs)) {
    if (is_last_date) {
      secs = last_date_secs_;
    } else {
      std::memcpy(last_date_, value.data(), value.size());
      last_date_bytes_ = value.size();
      last_date_secs_ = secs;
    }
    scratch_.push_back(1);
    PutVarint(&scratch_, secs);
    return true;
  }
  return PutHexRuns(&scratch_, value);
}

bool RecorderRing::EncodeAddr(std::string_view addr) {
  const size_t colon = addr.rfind(':');
  const int32_t port = colon == std::string_view::npos || colon == 0 ? -1 : PortOf(addr, colon);
  if (port < 0) {
    PutVarint(&scratch_, (static_cast<uint64_t>(addr.size()) << 2) | 2);
    scratch_.append(addr);
    return true;
  }
  const std::string_view host = addr.substr(0, colon);
  const int64_t index = StringIndex(host);
  if (index >= 0) {
    PutVarint(&scratch_, static_cast<uint64_t>(index) << 2);
  } else {
    PutVarint(&scratch_, (static_cast<uint64_t>(host.size()) << 2) | 1);
    scratch_.append(host);
  }
  PutVarint(&scratch_, static_cast<uint64_t>(port));
  return index >= 0;
}

void RecorderRing::EncodeFields(const H2FieldList& fields, uint32_t* hints) {
  PutVarint(&scratch_, fields.size());
  for (size_t i = 0; i < fields.size(); i++) {
    const H2Field& f = fields[i];
    // The index this position had last time on this connection, if it is this field again.
    uint32_t* hint = hints != nullptr && i < RecorderFieldHints::kFields ? &hints[i] : nullptr;
    if (hint != nullptr && *hint != 0 && IsField(fields_[*hint - 1], f.name, f.value)) {
      PutVarint(&scratch_, static_cast<uint64_t>(*hint - 1) << 2);
      continue;
    }
    // One lookup for an interned field (the common case): its key is the name's length, name, value.
    // A volatile field is never interned, so it is never looked up either (a Date per response).
    const bool is_internable = f.value.size() <= kMaxFieldValueBytes && f.name.size() <= kMaxNameBytes && !IsVolatileField(f.name);
    uint64_t h = 0;
    size_t slot = 0;
    if (is_internable) {
      h = FieldHash(f.name, f.value);
      const int64_t index = FindField(f.name, f.value, h, &slot);
      if (index >= 0) {
        if (hint != nullptr) *hint = static_cast<uint32_t>(index) + 1;
        PutVarint(&scratch_, static_cast<uint64_t>(index) << 2);
        continue;
      }
    }
    const int64_t name = NameIndex(f.name);
    if (name < 0) {
      PutVarint(&scratch_, (static_cast<uint64_t>(f.name.size()) << 2) | 2);
      scratch_.append(f.name);
      PutStr(&scratch_, f.value);
      continue;
    }
    const size_t key_bytes = 4 + f.name.size() + f.value.size();  // what the dictionary holds: u32 name length, name, value
    if (is_internable && fields_.size() < kMaxFields && field_dict_bytes_ + key_bytes <= kMaxFieldDictBytes) {
      if (field_candidates_.erase(h) > 0) {
        const auto index = static_cast<uint32_t>(fields_.size());
        const auto name_len = static_cast<uint32_t>(f.name.size());
        std::string key;
        key.reserve(key_bytes);
        key.assign(reinterpret_cast<const char*>(&name_len), 4);
        key.append(f.name);
        key.append(f.value);
        fields_.push_back({static_cast<uint32_t>(name), h, std::move(key)});
        field_slots_[slot] = index + 1;
        field_dict_bytes_ += key_bytes;
        if (hint != nullptr) *hint = index + 1;
        PutVarint(&scratch_, static_cast<uint64_t>(index) << 2);
        continue;
      }
      if (field_candidates_.size() >= kMaxFieldCandidates) field_candidates_.clear();
      field_candidates_.insert(h);
    }
    const size_t tag_at = scratch_.size();
    PutVarint(&scratch_, (static_cast<uint64_t>(name) << 2) | 3);
    if (PutPackedValue(f.value)) continue;
    scratch_.resize(tag_at);
    PutVarint(&scratch_, (static_cast<uint64_t>(name) << 2) | 1);
    PutStr(&scratch_, f.value);
  }
}

void RecorderRing::EncodeBodies(const RecordedBodies* bodies) {
  if (bodies == nullptr) return;
  for (int d = 0; d < 2; d++) {
    PutVarint(&scratch_, bodies->size[d]);
    scratch_.push_back(bodies->truncated[d] ? 1 : 0);
    PutStr(&scratch_, bodies->data[d]);
  }
}

void RecorderRing::EncodeHead(std::string_view head, bool is_request) {
  // Segments between CRLFs: joined with CRLF they give the head back byte for byte.
  size_t count = 1;
  for (size_t at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) count++;
  if (head.empty()) count = 0;
  PutVarint(&scratch_, count);
  size_t from = 0;
  for (size_t i = 0; i < count; i++) {
    size_t to = head.find("\r\n", from);
    if (to == std::string_view::npos) to = head.size();
    std::string_view seg = head.substr(from, to - from);
    from = to + 2;
    // A request line (`GET /health HTTP/1.1` repeats; `GET /orders/4711 …` may not) gets at most half the slots.
    const int64_t line = IsVolatileLine(seg) ? -1 : StringIndex(seg, is_request && i == 0 ? kMaxStrings / 2 : kMaxStrings);
    if (line >= 0) {
      PutVarint(&scratch_, static_cast<uint64_t>(line) << 2);
      continue;
    }
    if (is_request && i == 0) {
      // `METHOD target HTTP/1.x`: the method interned, the version one byte.
      const size_t sp1 = seg.find(' ');
      const size_t sp2 = seg.rfind(' ');
      if (sp1 != std::string_view::npos && sp1 > 0 && sp2 > sp1 + 1 && seg.size() == sp2 + 9 && seg.substr(sp2 + 1, 7) == "HTTP/1." && (seg.back() == '0' || seg.back() == '1')) {
        const int64_t method = NameIndex(seg.substr(0, sp1));
        if (method >= 0) {
          PutVarint(&scratch_, (static_cast<uint64_t>(method) << 2) | 3);
          scratch_.push_back(2);
          PutStr(&scratch_, seg.substr(sp1 + 1, sp2 - sp1 - 1));
          scratch_.push_back(seg.back());
          continue;
        }
      }
    }
    const size_t colon = seg.find(':');
    if (colon != std::string_view::npos && colon > 0 && colon + 1 < seg.size() && seg[colon + 1] == ' ') {
      const int64_t index = NameIndex(seg.substr(0, colon));
      if (index >= 0) {
        const std::string_view value = seg.substr(colon + 2);
        const size_t tag_at = scratch_.size();
        PutVarint(&scratch_, (static_cast<uint64_t>(index) << 2) | 3);
        if (PutPackedValue(value)) continue;
        scratch_.resize(tag_at);
        PutVarint(&scratch_, (static_cast<uint64_t>(index) << 2) | 1);
        PutStr(&scratch_, value);
        continue;
      }
    }
    PutVarint(&scratch_, (static_cast<uint64_t>(seg.size()) << 2) | 2);
    scratch_.append(seg.data(), seg.size());
  }
}

// What both record kinds start with, up to the addresses (see the layout in recorder-ring.h):
// `flags` gets the shared bits added; `h2_flags` follows it for HTTP/2 records (-1: none).
template <typename Exchange>
void RecorderRing::EncodeStart(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const Exchange& ex, const RecordedBodies* bodies,
                               uint8_t flags, int h2_flags, RecorderFieldHints* hints, bool has_response_head) {
  scratch_.clear();
  const uint64_t end_ns = ex.end_ns;
  scratch_.append(reinterpret_cast<const char*>(&end_ns), sizeof end_ns);
  PutVarint(&scratch_, conn_id);
  PutVarint(&scratch_, ex.stream);
  const bool has_status = has_response_head;
  if (inbound) flags |= kInbound;
  if (has_status) flags |= kHasStatus;
  if (ex.error != nullptr) flags |= kHasError;
  if (bodies != nullptr) flags |= kHasBodies;
  scratch_.push_back(static_cast<char>(flags));
  if (h2_flags >= 0) scratch_.push_back(static_cast<char>(h2_flags));
  PutVarint(&scratch_, end_ns >= ex.start_ns ? end_ns - ex.start_ns : 0);
  if (has_status) {
    PutVarint(&scratch_, ex.response_ns >= ex.start_ns ? ex.response_ns - ex.start_ns : 0);
    PutVarint(&scratch_, static_cast<uint64_t>(ex.status));
  }
  if (hints != nullptr && !hints->addrs.empty()) {
    scratch_.append(hints->addrs);
    return;
  }
  const size_t addrs_at = scratch_.size();
  const bool is_src_final = EncodeAddr(src);
  const bool is_dst_final = EncodeAddr(dst);
  if (hints != nullptr && is_src_final && is_dst_final) hints->addrs.assign(scratch_, addrs_at, std::string::npos);
}

void RecorderRing::Encode(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H1Exchange& ex, const RecordedBodies* bodies) {
  const bool has_status = ex.status != 0;
  EncodeStart(conn_id, inbound, src, dst, ex, bodies, static_cast<uint8_t>((ex.is_http10 ? kHttp10 : 0) | (ex.response_complete ? kResponseComplete : 0)), -1,
              nullptr, has_status);
  EncodeHead(ex.request_head, true);
  if (has_status) EncodeHead(ex.response_head, false);
  EncodeHead(ex.request_trailers, false);
  EncodeHead(ex.trailers, false);
  PutVarint(&scratch_, ex.request_bytes);
  PutVarint(&scratch_, ex.response_bytes);
  if (ex.error != nullptr) PutStr(&scratch_, ex.error);
  EncodeBodies(bodies);
}

void RecorderRing::EncodeH2(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H2Exchange& ex, const RecordedBodies* bodies,
                            RecorderFieldHints* hints) {
  // A head seen, its :status missing or malformed (status 0) included: its fields are kept, as the js
  // engine's stream tracker keeps them (a body's capture by Content-Type reads them; session 16).
  const bool has_status = ex.status != 0 || ex.response_ns != 0;
  uint8_t h2 = 0;
  if (ex.is_grpc) h2 |= kGrpc;
  if (ex.has_grpc_status) h2 |= kHasGrpcStatus;
  if (ex.has_grpc_message) h2 |= kHasGrpcMessage;
  if (ex.request_compressed) h2 |= kRequestCompressed;
  if (ex.response_compressed) h2 |= kResponseCompressed;
  if (ex.from_h2c) h2 |= kFromH2c;
  if (ex.unprocessed == Unprocessed::kRefused) h2 |= kUnprocessedRefused;
  if (ex.unprocessed == Unprocessed::kGoaway) h2 |= kUnprocessedGoaway;
  EncodeStart(conn_id, inbound, src, dst, ex, bodies, kH2, h2, hints, has_status);
  if (ex.from_h2c) {
    // Its request was HTTP/1: method, target and authority do not come from pseudo-headers.
    PutStr(&scratch_, ex.method);
    PutStr(&scratch_, ex.scheme);
    PutStr(&scratch_, ex.authority);
    PutStr(&scratch_, ex.path);
  }
  auto hints_of = [hints](int list) { return hints != nullptr ? hints->index_plus_one[list] : nullptr; };
  EncodeFields(ex.request_headers, hints_of(0));
  if (has_status) EncodeFields(ex.response_headers, hints_of(1));
  EncodeFields(ex.request_trailers, hints_of(2));
  EncodeFields(ex.trailers, hints_of(3));
  PutVarint(&scratch_, ex.request_bytes);
  PutVarint(&scratch_, ex.response_bytes);
  if (ex.is_grpc) {
    PutVarint(&scratch_, ex.request_messages);
    PutVarint(&scratch_, ex.response_messages);
  }
  if (ex.has_grpc_status) PutVarint(&scratch_, static_cast<uint64_t>(ex.grpc_status));
  if (ex.has_grpc_message) PutStr(&scratch_, ex.grpc_message);
  if (ex.error != nullptr) PutStr(&scratch_, ex.error);
  EncodeBodies(bodies);
}

uint32_t RecorderRing::LengthAt(size_t at) const {
  uint32_t len;
  std::memcpy(&len, buf_ + at, sizeof len);
  return len;
}

void RecorderRing::EvictOldest() {
  const size_t n = kFrameBytes + LengthAt(head_);
  head_ += n;
  stats_.bytes -= n;
  stats_.count--;
  stats_.evicted++;
  if (wrapped_ && head_ == wrap_) {
    head_ = 0;
    wrapped_ = false;
  }
  if (stats_.count == 0) head_ = tail_ = wrap_ = 0, wrapped_ = false;
}

void RecorderRing::Store(const std::string& record) {
  const size_t need = kFrameBytes + record.size();
  if (buf_ == nullptr || need > cap_) {
    stats_.evicted++;  // larger than the whole ring: refused, counted as the js recorder does
    return;
  }
  size_t at;
  for (;;) {
    if (!wrapped_) {
      if (cap_ - tail_ >= need) {
        at = tail_;
        break;
      }
      if (stats_.count > 0 && head_ >= need) {  // no room at the end: continue at the start
        wrap_ = tail_;
        wrapped_ = true;
        at = 0;
        break;
      }
    } else if (head_ - tail_ >= need) {
      at = tail_;
      break;
    }
    EvictOldest();
  }
  const uint32_t len = static_cast<uint32_t>(record.size());
  std::memcpy(buf_ + at, &len, sizeof len);
  std::memcpy(buf_ + at + kFrameBytes, record.data(), record.size());
  tail_ = at + need;
  stats_.bytes += need;
  stats_.count++;
}

void RecorderRing::Push(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H1Exchange& ex, const RecordedBodies* bodies) {
  std::lock_guard<std::mutex> lock(mu_);
  Encode(conn_id, inbound, src, dst, ex, bodies);
  Store(scratch_);
}

void RecorderRing::Push(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H2Exchange& ex, const RecordedBodies* bodies,
                        RecorderFieldHints* hints) {
  std::lock_guard<std::mutex> lock(mu_);
  EncodeH2(conn_id, inbound, src, dst, ex, bodies, hints);
  Store(scratch_);
}

std::string RecorderRing::Query(uint64_t since_end_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  PutVarint(&out, names_.size());
  for (const auto& n : names_) PutStr(&out, n);
  PutVarint(&out, fields_.size());
  for (const auto& f : fields_) {
    uint32_t name_len;
    std::memcpy(&name_len, f.key.data(), 4);
    PutVarint(&out, f.name);
    PutStr(&out, std::string_view(f.key).substr(4 + name_len));
  }
  PutVarint(&out, strings_.size());
  for (const auto& str : strings_) PutStr(&out, str);
  auto copy = [&](size_t from, size_t to) {
    for (size_t at = from; at < to;) {
      const size_t n = kFrameBytes + LengthAt(at);
      uint64_t end_ns;
      std::memcpy(&end_ns, buf_ + at + kFrameBytes, sizeof end_ns);
      if (end_ns >= since_end_ns) out.append(reinterpret_cast<const char*>(buf_ + at), n);
      at += n;
    }
  };
  if (stats_.count > 0) {
    if (wrapped_) {
      copy(head_, wrap_);
      copy(0, tail_);
    } else {
      copy(head_, tail_);
    }
  }
  return out;
}

RecorderStats RecorderRing::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  RecorderStats s = stats_;
  if (s.count > 0) std::memcpy(&s.oldest_end_ns, buf_ + head_ + kFrameBytes, sizeof s.oldest_end_ns);
  return s;
}

}  // namespace meshtap
