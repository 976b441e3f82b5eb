// SPDX-License-Identifier: Apache-2.0
#include "h2-record-sink.h"

#include <cstring>
#include <string>
#include <string_view>

#include "detect-driver.h"
#include "tap-event-json.h"

namespace meshtap {
namespace {

void PutU32(std::string* s, uint32_t v) { s->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* s, uint64_t v) { s->append(reinterpret_cast<const char*>(&v), 8); }
void PutStr(std::string* s, std::string_view v) {
  PutU32(s, static_cast<uint32_t>(v.size()));
  s->append(v.data(), v.size());
}

size_t FieldsBytes(const H2FieldList& fields) {
  size_t n = 4;
  for (const auto& f : fields) n += 8 + f.name.size() + f.value.size();
  return n;
}

void PutFields(std::string* s, const H2FieldList& fields) {
  PutU32(s, static_cast<uint32_t>(fields.size()));
  for (const auto& f : fields) {
    PutU32(s, static_cast<uint32_t>(f.name.size()));
    PutU32(s, static_cast<uint32_t>(f.value.size()));
    s->append(f.name);
    s->append(f.value);
  }
}

// The stream a record names: the exchange's number (ex.stream: the stream id, plus N - 1 after an
// h2c upgrade by the Nth HTTP/1 request, h2-streams.cc). An adopted h2c exchange keeps its HTTP/1
// number N as its id; its records name stream 1 (what it is on the wire; no other exchange's
// number is 1 after an upgrade, as every HTTP/2 stream's is at least N + 2).
uint32_t RecordStream(const H2Exchange& ex) { return ex.from_h2c ? 1 : ex.stream; }

// The event's JSON after a record's fields (event-ring.h "json"), when the stream's events are
// written as JSON and this one is plain (tap-event-json.h); nothing otherwise.
void PutEventJson(std::string* s, TapEventKind kind, const H2Exchange& ex, const ObservationDriver& driver) {
  if (ex.json_policy == nullptr) return;
  const TapEventConn conn = TapEventConnOf(driver);
  TapEventJson json;
  if (!H2TapEventJson(kind, ex, ex.stream, conn, *ex.json_policy, kind == TapEventKind::kEnd && ex.bodies_to_js ? ex.json_body : nullptr, &json)) return;
  PutU32(s, json.identity_at);
  PutU32(s, json.cut_from);
  PutU32(s, json.cut_to);
  PutU32(s, json.body_chars);
  PutStr(s, json.text);
}

}  // namespace

void H2RecordSink::RequestHead(H2Exchange& ex) {
  if (ex.from_h2c) return;  // reported (and decided) as HTTP/1 already
  if (!driver_->shared()->AdmitToJs(ex)) return;
  std::string payload;
  payload.reserve(4 + 16 + ex.method.size() + ex.scheme.size() + ex.authority.size() + ex.path.size() + FieldsBytes(ex.request_headers));
  PutU32(&payload, RecordStream(ex));
  PutStr(&payload, ex.method);
  PutStr(&payload, ex.scheme);
  PutStr(&payload, ex.authority);
  PutStr(&payload, ex.path);
  PutFields(&payload, ex.request_headers);
  // Not for stream 1 after h2c (RequestHead returned above): JS names it by its HTTP/1 number.
  ex.json_policy = driver_->shared()->TapJson();
  PutEventJson(&payload, TapEventKind::kReq, ex, *driver_);
  uint8_t code = 0;
  if (ex.bodies_to_js) code |= kH2HeadBodies;
  if (ex.is_grpc) code |= kH2HeadGrpc;
  driver_->Emit(kRecH2ReqHead, code, payload.data(), payload.size(), ex.start_ns, false);
}

void H2RecordSink::ResponseHead(H2Exchange& ex) {
  if (!ex.to_js) return driver_->shared()->CountShed(ex.shed);
  std::string payload;
  payload.reserve(8 + FieldsBytes(ex.response_headers));
  PutU32(&payload, RecordStream(ex));
  PutU32(&payload, static_cast<uint32_t>(ex.status));
  PutFields(&payload, ex.response_headers);
  PutEventJson(&payload, TapEventKind::kRsp, ex, *driver_);
  driver_->Emit(kRecH2RspHead, 0, payload.data(), payload.size(), ex.response_ns, false);
}

void H2RecordSink::BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) {
  if (!ex.to_js || !ex.bodies_to_js) return;
  const int dir = is_request ? 0 : 1;
  const uint64_t limit = driver_->shared()->config.body_limit;
  if (ex.body_copied[dir] >= limit || len == 0) return;
  const uint64_t room = limit - ex.body_copied[dir];
  const size_t take = len < room ? len : static_cast<size_t>(room);
  ex.body_copied[dir] += take;
  if (ex.json_policy != nullptr) ex.json_body[dir].append(reinterpret_cast<const char*>(data), take);
  driver_->Emit2(kRecBody, static_cast<uint8_t>(dir), RecordStream(ex), data, take, driver_->now_ns(), false);
}

void H2RecordSink::End(H2Exchange& ex) {
  if (!ex.to_js) return driver_->shared()->CountShed(ex.shed);
  const std::string_view error = ex.error != nullptr ? std::string_view(ex.error) : std::string_view();
  uint32_t flags = 0;
  if (ex.has_grpc_status) flags |= kH2EndHasGrpcStatus;
  if (ex.has_grpc_message) flags |= kH2EndHasGrpcMessage;
  if (ex.request_compressed) flags |= kH2EndRequestCompressed;
  if (ex.response_compressed) flags |= kH2EndResponseCompressed;
  if (ex.error != nullptr) flags |= kH2EndHasError;
  if (ex.unprocessed == Unprocessed::kRefused) flags |= kH2EndUnprocessedRefused;
  if (ex.unprocessed == Unprocessed::kGoaway) flags |= kH2EndUnprocessedGoaway;
  std::string payload;
  payload.reserve(48 + error.size() + ex.grpc_message.size() + FieldsBytes(ex.request_trailers) + FieldsBytes(ex.trailers));
  PutU32(&payload, RecordStream(ex));
  PutU32(&payload, flags);
  PutU64(&payload, static_cast<uint64_t>(ex.grpc_status));
  PutU32(&payload, ex.request_messages);
  PutU32(&payload, ex.response_messages);
  PutU64(&payload, ex.request_bytes);
  PutU64(&payload, ex.response_bytes);
  PutStr(&payload, error);
  PutStr(&payload, ex.has_grpc_message ? std::string_view(ex.grpc_message) : std::string_view());
  PutFields(&payload, ex.request_trailers);
  PutFields(&payload, ex.trailers);
  PutEventJson(&payload, TapEventKind::kEnd, ex, *driver_);
  driver_->Emit(kRecH2End, 0, payload.data(), payload.size(), ex.end_ns, true);
}

// Counted in C++; JS hears of it only if it follows the connection (GaveUp says so).
void H2RecordSink::GiveUp(GiveUpReason reason) { driver_->GaveUp(reason); }

}  // namespace meshtap
