// SPDX-License-Identifier: Apache-2.0
#include "recorder-ring.h"

#include <cstdlib>
#include <cstring>

namespace meshtap {
namespace {

constexpr size_t kFrameBytes = 4;  // u32 record length before each record

void PutVarint(std::string* out, uint64_t v) {
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

// Fields whose values change with every request or second: never worth a dictionary slot.
bool IsVolatileField(std::string_view name) {
  static constexpr std::string_view kVolatile[] = {"date", "x-request-id", "traceparent", "tracestate", "grpc-timeout", "x-b3-traceid", "x-b3-spanid",
                                                   "x-b3-parentspanid", "x-amzn-trace-id", "last-modified", "expires", "etag"};
  for (auto v : kVolatile) {
    if (v == name) return true;
  }
  return false;
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

void RecorderRing::EncodeFields(const H2FieldList& fields) {
  PutVarint(&scratch_, fields.size());
  for (const auto& f : fields) {
    // One lookup for an interned field (the common case): its key is the name's length, name, value.
    const bool is_internable = f.value.size() <= kMaxFieldValueBytes && f.name.size() <= kMaxNameBytes;
    if (is_internable) {
      const auto name_len = static_cast<uint32_t>(f.name.size());
      key_.assign(reinterpret_cast<const char*>(&name_len), 4);
      key_.append(f.name);
      key_.append(f.value);
      auto it = field_index_.find(key_);
      if (it != field_index_.end()) {
        PutVarint(&scratch_, static_cast<uint64_t>(it->second) << 2);
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
    if (is_internable && !IsVolatileField(f.name) && fields_.size() < kMaxFields && field_dict_bytes_ + key_.size() <= kMaxFieldDictBytes) {
      const uint64_t h = std::hash<std::string_view>()(key_);
      if (field_candidates_.erase(h) > 0) {
        const auto index = static_cast<uint32_t>(fields_.size());
        fields_.push_back({static_cast<uint32_t>(name), key_});
        field_index_.emplace(std::string_view(fields_.back().key), index);
        field_dict_bytes_ += key_.size();
        PutVarint(&scratch_, static_cast<uint64_t>(index) << 2);
        continue;
      }
      if (field_candidates_.size() >= kMaxFieldCandidates) field_candidates_.clear();
      field_candidates_.insert(h);
    }
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

void RecorderRing::EncodeHead(std::string_view head) {
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
    const size_t colon = seg.find(':');
    if (colon != std::string_view::npos && colon > 0 && colon + 1 < seg.size() && seg[colon + 1] == ' ') {
      const int64_t index = NameIndex(seg.substr(0, colon));
      if (index >= 0) {
        PutVarint(&scratch_, static_cast<uint64_t>(index) << 1);
        PutStr(&scratch_, seg.substr(colon + 2));
        continue;
      }
    }
    PutVarint(&scratch_, (static_cast<uint64_t>(seg.size()) << 1) | 1);
    scratch_.append(seg.data(), seg.size());
  }
}

// What both record kinds start with, up to the addresses (see the layout in recorder-ring.h):
// `flags` gets the shared bits added; `h2_flags` follows it for HTTP/2 records (-1: none).
template <typename Exchange>
void RecorderRing::EncodeStart(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const Exchange& ex, const RecordedBodies* bodies,
                               uint8_t flags, int h2_flags) {
  scratch_.clear();
  const uint64_t end_ns = ex.end_ns;
  scratch_.append(reinterpret_cast<const char*>(&end_ns), sizeof end_ns);
  PutVarint(&scratch_, conn_id);
  PutVarint(&scratch_, ex.stream);
  const bool has_status = ex.status != 0;
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
  PutStr(&scratch_, src);
  PutStr(&scratch_, dst);
}

void RecorderRing::Encode(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H1Exchange& ex, const RecordedBodies* bodies) {
  const bool has_status = ex.status != 0;
  EncodeStart(conn_id, inbound, src, dst, ex, bodies, ex.is_http10 ? kHttp10 : 0, -1);
  EncodeHead(ex.request_head);
  if (has_status) EncodeHead(ex.response_head);
  EncodeHead(ex.request_trailers);
  EncodeHead(ex.trailers);
  PutVarint(&scratch_, ex.request_bytes);
  PutVarint(&scratch_, ex.response_bytes);
  if (ex.error != nullptr) PutStr(&scratch_, ex.error);
  EncodeBodies(bodies);
}

void RecorderRing::EncodeH2(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H2Exchange& ex, const RecordedBodies* bodies) {
  const bool has_status = ex.status != 0;
  uint8_t h2 = 0;
  if (ex.is_grpc) h2 |= kGrpc;
  if (ex.has_grpc_status) h2 |= kHasGrpcStatus;
  if (ex.has_grpc_message) h2 |= kHasGrpcMessage;
  if (ex.request_compressed) h2 |= kRequestCompressed;
  if (ex.response_compressed) h2 |= kResponseCompressed;
  if (ex.from_h2c) h2 |= kFromH2c;
  EncodeStart(conn_id, inbound, src, dst, ex, bodies, kH2, h2);
  if (ex.from_h2c) {
    // Its request was HTTP/1: method, target and authority do not come from pseudo-headers.
    PutStr(&scratch_, ex.method);
    PutStr(&scratch_, ex.scheme);
    PutStr(&scratch_, ex.authority);
    PutStr(&scratch_, ex.path);
  }
  EncodeFields(ex.request_headers);
  if (has_status) EncodeFields(ex.response_headers);
  EncodeFields(ex.request_trailers);
  EncodeFields(ex.trailers);
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

void RecorderRing::Push(uint32_t conn_id, bool inbound, std::string_view src, std::string_view dst, const H2Exchange& ex, const RecordedBodies* bodies) {
  std::lock_guard<std::mutex> lock(mu_);
  EncodeH2(conn_id, inbound, src, dst, ex, bodies);
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
