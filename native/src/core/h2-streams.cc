// SPDX-License-Identifier: Apache-2.0
#include "h2-streams.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "grpc-status.h"

namespace meshtap {

namespace {

// Names compared as views: their length first, no strlen per comparison (as `== ":status"` did).
constexpr std::string_view kStatusName = ":status";
constexpr std::string_view kMethodName = ":method";
constexpr std::string_view kSchemeName = ":scheme";
constexpr std::string_view kAuthorityName = ":authority";
constexpr std::string_view kPathName = ":path";
constexpr std::string_view kGrpcTimeoutName = "grpc-timeout";

// `:status` as a number; 0 when missing or not three digits (the first :status field counts).
int StatusOf(const H2FieldList& headers) {
  for (const H2Field& f : headers) {
    if (f.name != kStatusName) continue;
    const std::string& v = f.value;
    if (v.size() != 3) return 0;
    for (char c : v) {
      if (c < '0' || c > '9') return 0;
    }
    return (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
  }
  return 0;
}

bool SameError(const char* a, const char* b) { return a != nullptr && b != nullptr && std::strcmp(a, b) == 0; }

// Fields in most header blocks (a browser's request has ~10-16, a gRPC call ~8): a new list has
// room for them at once (growing 1, 2, 4, 8, 16 cost four reallocations, ~3 % of the worker's
// samples under h2load, perf, session 6).
constexpr size_t kUsualBlockFields = 16;
// Lists larger than this are not kept for reuse (a rare huge block does not stay allocated).
constexpr size_t kMaxReusedListFields = 64;
// What one thread keeps of ended streams for the next ones. Why: every stream allocated a
// stream, and two field lists of 1 KiB, and freed them at its end; with ~128 streams open, ends
// and starts come in bursts of dozens, far more than glibc's per-thread cache holds (7 chunks a
// size), so most went through malloc's slow paths (_int_malloc, unlink, consolidate: ~10 % of
// the observer's samples under h2load -c4 -m32, session 8). Per thread, because each worker is
// one thread and owns its connections: no lock. Bounded: a burst beyond it is freed as before.
constexpr size_t kMaxSpareLists = 64;
constexpr size_t kMaxSpareStreams = 32;

}  // namespace

// Reserved at once, so that keeping a spare never allocates (Recycle cannot fail).
struct H2StreamTracker::Spares {
  Spares() {
    lists.reserve(kMaxSpareLists);
    streams.reserve(kMaxSpareStreams);
  }
  std::vector<H2FieldList> lists;
  std::vector<StreamPtr> streams;
};

H2StreamTracker::Spares& H2StreamTracker::ThreadSpares() {
  static thread_local Spares spares;
  return spares;
}

H2FieldList H2StreamTracker::TakeFieldList() {
  std::vector<H2FieldList>& spare = ThreadSpares().lists;
  if (!spare.empty()) {
    H2FieldList list = std::move(spare.back());
    spare.pop_back();
    return list;
  }
  H2FieldList list;
  list.reserve(kUsualBlockFields);
  return list;
}

H2StreamTracker::StreamPtr H2StreamTracker::NewStream() {
  std::vector<StreamPtr>& spare = ThreadSpares().streams;
  if (spare.empty()) return std::make_unique<Stream>();
  StreamPtr st = std::move(spare.back());
  spare.pop_back();
  return st;
}

// Called only for streams made by NewStream on this thread, so ThreadSpares() exists already.
void H2StreamTracker::Recycle(StreamPtr st) noexcept {
  Spares& spares = ThreadSpares();
  H2Exchange& ex = st->ex;
  for (H2FieldList* list : {&ex.request_headers, &ex.response_headers, &ex.request_trailers, &ex.trailers}) {
    if (list->capacity() < kUsualBlockFields || list->capacity() > kMaxReusedListFields || spares.lists.size() >= kMaxSpareLists) continue;
    list->clear();
    spares.lists.push_back(std::move(*list));
  }
  if (spares.streams.size() >= kMaxSpareStreams) return;  // `st` is freed
  *st = Stream();
  spares.streams.push_back(std::move(st));
}

H2StreamTracker::H2StreamTracker(H2ExchangeSink* sink, const ObserverLimits& limits) : sink_(sink), limits_(limits) {}

H2StreamTracker::~H2StreamTracker() = default;

H2StreamTracker::Stream* H2StreamTracker::Find(uint32_t stream_id) {
  auto* it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

H2StreamTracker::Stream* H2StreamTracker::FindPending(uint32_t stream_id) {
  auto it = reset_pending_.find(stream_id);
  return it == reset_pending_.end() ? nullptr : it->second.get();
}

void H2StreamTracker::AdoptUpgraded(H2Exchange&& ex) {
  StreamPtr st = NewStream();
  st->ex = std::move(ex);
  st->ex.is_grpc = false;
  st->ex.from_h2c = true;
  st->id = 1;
  st->is_request_ended = true;
  // Exchange numbers go on after the HTTP/1 ones (stream-tracker.ts numberOffset): the upgraded
  // request keeps its number N, stream s is N - 1 + s, so no two exchanges share an id.
  number_offset_ = st->ex.stream - 1;
  last_client_stream_ = 1;
  if (auto* it = streams_.find(1); it != streams_.end()) it->second = std::move(st);
  else streams_.insert(1, std::move(st));
}

bool H2StreamTracker::RequestHeaders(uint32_t stream_id, H2FieldList&& headers, bool is_end_stream, uint64_t now_ns) {
  // Open streams have ids up to last_client_stream_: a higher id is a new stream, not looked up.
  if (Stream* st = stream_id <= last_client_stream_ ? Find(stream_id) : nullptr) {
    // A second block from the client is the request's trailers.
    if (!st->is_request_ended) {
      st->ex.request_trailers = std::move(headers);
      if (is_end_stream) RequestEnded(st, now_ns);
    }
    return true;
  }
  if (stream_id % 2 == 0 || stream_id <= last_client_stream_) return true;  // closed or not ours
  if (streams_.size() >= limits_.max_streams) return false;
  last_client_stream_ = stream_id;
  StreamPtr owned = NewStream();
  Stream* st = owned.get();
  st->id = stream_id;
  H2Exchange& ex = st->ex;
  ex.stream = stream_id + number_offset_;
  ex.is_grpc = IsGrpcContentType(headers);
  ex.start_ns = now_ns;
  // Pseudo-headers should come first (RFC 9113 §8.3), but a peer that misorders them is still
  // observed: the whole list is scanned, the last of each name wins.
  for (const H2Field& f : headers) {
    if (f.name.empty() || f.name[0] != ':') continue;
    if (f.name == kMethodName) ex.method = f.value;
    else if (f.name == kSchemeName) ex.scheme = f.value;
    else if (f.name == kAuthorityName) ex.authority = f.value;
    else if (f.name == kPathName) ex.path = f.value;
  }
  if (ex.is_grpc) {
    st->has_grpc = true;
    for (const H2Field& f : headers) {
      if (f.name == kGrpcTimeoutName) st->grpc_timeout_ms = ParseGrpcTimeoutMs(f.value);
    }
  }
  ex.request_headers = std::move(headers);
  // Client stream ids only grow: the new stream goes last.
  streams_.insert(stream_id, std::move(owned));
  sink_->RequestHead(ex);
  if (stream_id > goaway_last_stream_) {
    ex.unprocessed = Unprocessed::kGoaway;
    Finish(st, h2_error::kGoaway, now_ns);
  }
  else if (is_end_stream) RequestEnded(st, now_ns);
  return true;
}

void H2StreamTracker::ResponseHeaders(uint32_t stream_id, H2FieldList&& headers, bool is_end_stream, uint64_t now_ns) {
  Stream* st = Find(stream_id);
  if (st == nullptr) st = FindPending(stream_id);
  if (st == nullptr) return;
  H2Exchange& ex = st->ex;
  if (!st->has_response_head) {
    const int status = StatusOf(headers);
    if (status >= 100 && status < 200) return;  // 1xx: informational, not reported
    st->has_response_head = true;
    if (status == 0) st->is_status_malformed = true;
    ex.status = status;
    ex.response_ns = now_ns;
    if (st->has_grpc && is_end_stream) ApplyGrpcStatus(st, headers);  // trailers-only
    ex.response_headers = std::move(headers);
    sink_->ResponseHead(ex);
  } else {
    if (st->has_grpc) ApplyGrpcStatus(st, headers);
    ex.trailers = std::move(headers);
  }
  if (is_end_stream) ResponseEnded(st, now_ns);
}

void H2StreamTracker::Data(bool is_from_client, uint32_t stream_id, const uint8_t* data, size_t len) {
  Stream* st = Find(stream_id);
  if (st == nullptr && !is_from_client) st = FindPending(stream_id);
  if (st == nullptr) return;
  H2Exchange& ex = st->ex;
  const int dir = is_from_client ? 0 : 1;
  if (is_from_client) ex.request_bytes += len;
  else ex.response_bytes += len;
  if (ex.capture_bodies && st->body_captured[dir] < limits_.max_body_capture_bytes && len > 0) {
    const uint64_t room = limits_.max_body_capture_bytes - st->body_captured[dir];
    const size_t take = room < len ? static_cast<size_t>(room) : len;
    st->body_captured[dir] += take;
    sink_->BodyData(ex, is_from_client, data, take);
  }
  if (st->has_grpc) (is_from_client ? st->grpc_request : st->grpc_response).Feed(data, len);
}

void H2StreamTracker::DataEndStream(bool is_from_client, uint32_t stream_id, uint64_t now_ns) {
  Stream* st = Find(stream_id);
  if (st == nullptr && !is_from_client) st = FindPending(stream_id);
  if (st == nullptr) return;
  if (is_from_client) RequestEnded(st, now_ns);
  else ResponseEnded(st, now_ns);
}

void H2StreamTracker::Reset(uint32_t stream_id, uint32_t code, bool is_from_client, uint64_t now_ns) {
  if (Stream* pending = FindPending(stream_id)) {
    // The server reset a stream the client had reset: nothing more can cross.
    if (!is_from_client) Finish(pending, h2_error::kReset, now_ns);
    return;
  }
  auto* it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  Stream* st = it->second.get();
  st->has_reset_code = true;
  st->reset_code = code;
  if (st->is_response_ended) return Finish(st, nullptr, now_ns);
  if (!is_from_client) {
    // Refused before any response: the server never processed it, and a client may send it again
    // (RFC 9113 §8.7). After the response HEADERS it is a response cut short (stream-tracker.ts).
    if (code == kH2RefusedStream && !st->has_response_head) st->ex.unprocessed = Unprocessed::kRefused;
    return Finish(st, h2_error::kReset, now_ns);
  }
  StreamPtr owned = std::move(it->second);
  streams_.erase(it);
  owned->ex.end_ns = now_ns;
  if (reset_order_.size() >= kMaxResetPending) Finish(FindPending(reset_order_.front()), h2_error::kReset, now_ns);
  owned->in_reset_grace = true;
  owned->reset_batch = reset_batch_;
  reset_order_.push_back(stream_id);
  reset_pending_[stream_id] = std::move(owned);
  ArmResetTimer(now_ns);
}

void H2StreamTracker::Goaway(uint32_t last_stream_id, uint64_t now_ns) {
  if (last_stream_id < goaway_last_stream_) goaway_last_stream_ = last_stream_id;
  // Ids above last_stream_id, in id (= insertion) order.
  while (true) {
    auto* it = streams_.upper_bound(last_stream_id);
    if (it == streams_.end()) break;
    Stream* st = it->second.get();
    // Never processed, unless a response HEADERS came on it (a server that says otherwise: a
    // response cut short, as stream-tracker.ts goaway()).
    if (!st->has_response_head) st->ex.unprocessed = Unprocessed::kGoaway;
    Finish(st, h2_error::kGoaway, now_ns);
  }
}

void H2StreamTracker::ServerEnded(uint64_t now_ns) {
  FlushResets(std::nullopt, now_ns);
  while (!streams_.empty()) {
    Stream* st = streams_.begin()->second.get();
    Finish(st, st->is_response_ended ? nullptr : exchange_error::kUpstreamClosed, now_ns);
  }
}

void H2StreamTracker::EndAll(const char* error, uint64_t now_ns) {
  FlushResets(std::nullopt, now_ns);
  while (!streams_.empty()) {
    Stream* st = streams_.begin()->second.get();
    Finish(st, st->is_response_ended ? nullptr : error, now_ns);
  }
}

void H2StreamTracker::OnDeadline(uint64_t now_ns) {
  if (!timer_armed_ || now_ns < timer_deadline_ns_) return;
  timer_armed_ = false;
  FlushResets(timer_batch_, now_ns);
  if (!reset_order_.empty()) ArmResetTimer(now_ns);
}

void H2StreamTracker::ArmResetTimer(uint64_t now_ns) {
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_batch_ = reset_batch_++;
  timer_deadline_ns_ = now_ns + kResetGraceNs;
}

void H2StreamTracker::FlushResets(std::optional<uint64_t> batch, uint64_t now_ns) {
  if (!batch) timer_armed_ = false;
  while (!reset_order_.empty()) {
    Stream* st = FindPending(reset_order_.front());
    if (batch && st->reset_batch > *batch) break;
    Finish(st, h2_error::kReset, now_ns);
  }
}

void H2StreamTracker::ApplyGrpcStatus(Stream* st, const H2FieldList& headers) {
  GrpcStatusRead read = ReadGrpcStatus(headers);
  H2Exchange& ex = st->ex;
  if (read.status) {
    ex.has_grpc_status = true;
    ex.grpc_status = *read.status;
  }
  if (read.message) {
    ex.has_grpc_message = true;
    ex.grpc_message = std::move(*read.message);
  }
  if (read.is_malformed) st->is_grpc_status_malformed = true;
}

void H2StreamTracker::DeriveGrpcStatus(Stream* st, const char* error) {
  // A gRPC exchange over without a usable grpc-status: the status its client reports instead,
  // and an error saying why (grpc-status.h). An observer that gave up knows nothing.
  H2Exchange& ex = st->ex;
  if (error == nullptr) {
    ex.has_grpc_status = true;
    ex.grpc_status = st->is_grpc_status_malformed ? kGrpcUnknown : GrpcStatusOfMissing(ex.status);
    ex.error = st->is_grpc_status_malformed ? h2_error::kGrpcStatusMalformed : h2_error::kGrpcStatusMissing;
  } else if (SameError(error, h2_error::kReset) && st->has_reset_code) {
    // As the js engine's endMs - startMs (signed: a driver's clock never goes back, but if it did
    // the answer stays a small number, not 2^64 ns).
    const double elapsed_ms = static_cast<double>(static_cast<int64_t>(ex.end_ns - ex.start_ns)) / 1e6;
    ex.has_grpc_status = true;
    ex.grpc_status = GrpcStatusOfReset(st->reset_code, elapsed_ms, st->grpc_timeout_ms);
  } else if (!SameError(error, exchange_error::kGaveUp)) {
    ex.has_grpc_status = true;
    ex.grpc_status = kGrpcUnavailable;  // the connection went away first
  }
}

void H2StreamTracker::RequestEnded(Stream* st, uint64_t now_ns) {
  st->is_request_ended = true;
  if (st->is_response_ended) Finish(st, nullptr, now_ns);
}

void H2StreamTracker::ResponseEnded(Stream* st, uint64_t now_ns) {
  st->is_response_ended = true;
  // A client-reset stream whose response crossed the reset: it passed through complete.
  if (st->is_request_ended || st->in_reset_grace) Finish(st, nullptr, now_ns);
}

void H2StreamTracker::Finish(Stream* st, const char* error, uint64_t now_ns) {
  const uint32_t id = st->id;
  StreamPtr owned;
  const bool was_pending = st->in_reset_grace;
  if (was_pending) {
    auto it = reset_pending_.find(id);
    owned = std::move(it->second);
    reset_pending_.erase(it);
    reset_order_.erase(std::find(reset_order_.begin(), reset_order_.end(), id));
  } else {
    auto* it = streams_.find(id);
    owned = std::move(it->second);
    streams_.erase(it);
  }
  H2Exchange& ex = st->ex;
  if (error != nullptr) ex.error = error;
  if (st->has_grpc) {
    ex.request_messages = st->grpc_request.messages();
    ex.request_compressed = st->grpc_request.is_compressed();
    ex.response_messages = st->grpc_response.messages();
    ex.response_compressed = st->grpc_response.is_compressed();
  }
  // A client-reset stream ended when it was reset, unless its response came through after.
  if (!(was_pending && error != nullptr)) ex.end_ns = now_ns;
  if (st->is_status_malformed) {
    // As stream-tracker.ts: its client failed the stream at that head, gRPC ones with INTERNAL.
    ex.error = h2_error::kStatusMalformed;
    if (st->has_grpc) {
      ex.has_grpc_status = true;
      ex.grpc_status = kGrpcInternal;
    }
  }
  if (st->has_grpc && !ex.has_grpc_status) DeriveGrpcStatus(st, error);
  sink_->End(ex);
  Recycle(std::move(owned));
}

}  // namespace meshtap
