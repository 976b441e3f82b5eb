// SPDX-License-Identifier: Apache-2.0
#include "h1-record-sink.h"

#include <cstring>
#include <string>

#include "detect-driver.h"
#include "tap-event-json.h"

namespace meshtap {
namespace {

void PutU32(std::string* s, uint32_t v) { s->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* s, uint64_t v) { s->append(reinterpret_cast<const char*>(&v), 8); }

// The event's JSON (event-ring.h "json") when the exchange's events are written as JSON and this
// one is plain (tap-event-json.h); false (nothing appended) otherwise.
bool PutEventJson(std::string* s, TapEventKind kind, const H1Exchange& ex, const ObservationDriver& driver) {
  if (ex.json_policy == nullptr) return false;
  const TapEventConn conn = TapEventConnOf(driver);
  TapEventJson json;
  if (!H1TapEventJson(kind, ex, conn, *ex.json_policy, kind == TapEventKind::kEnd && ex.bodies_to_js ? ex.json_body : nullptr, &json)) return false;
  PutU32(s, json.identity_at);
  PutU32(s, json.cut_from);
  PutU32(s, json.cut_to);
  PutU32(s, json.body_chars);
  PutU32(s, static_cast<uint32_t>(json.text.size()));
  s->append(json.text);
  return true;
}

// A head record with the event's JSON after the head (code kH1HeadJson): u32 stream, u32 head
// length, head, json. False when the event is not written as JSON (then the plain layout is sent).
bool EmitHeadWithJson(ObservationDriver* driver, RecordType type, uint8_t code, TapEventKind kind, const H1Exchange& ex, const std::string& head, uint64_t t_ns) {
  if (ex.json_policy == nullptr) return false;
  std::string payload;
  payload.reserve(8 + head.size() + 1024);
  PutU32(&payload, ex.stream);
  PutU32(&payload, static_cast<uint32_t>(head.size()));
  payload += head;
  if (!PutEventJson(&payload, kind, ex, *driver)) return false;
  driver->Emit(type, code | kH1HeadJson, payload.data(), payload.size(), t_ns, false);
  return true;
}

}  // namespace

// Exchange records go to JS only for exchanges that began while a tap subscriber was attached:
// metrics and the flight recorder are C++'s (metrics-h1-sink.h), so with nobody tapping the JS
// thread sees no request at all.
void H1RecordSink::RequestHead(H1Exchange& ex) {
  if (!driver_->shared()->AdmitToJs(ex)) return;
  ex.json_policy = driver_->shared()->TapJson();
  if (EmitHeadWithJson(driver_, kRecReqHead, ex.bodies_to_js ? 1 : 0, TapEventKind::kReq, ex, ex.request_head, ex.start_ns)) return;
  driver_->Emit2(kRecReqHead, ex.bodies_to_js ? 1 : 0, ex.stream, ex.request_head.data(), ex.request_head.size(), ex.start_ns, false);
}

void H1RecordSink::ResponseHead(H1Exchange& ex) {
  if (!ex.to_js) return driver_->shared()->CountShed(ex.shed);
  if (EmitHeadWithJson(driver_, kRecRspHead, 0, TapEventKind::kRsp, ex, ex.response_head, ex.response_ns)) return;
  driver_->Emit2(kRecRspHead, 0, ex.stream, ex.response_head.data(), ex.response_head.size(), ex.response_ns, false);
}

void H1RecordSink::BodyData(H1Exchange& ex, bool is_request, const uint8_t* data, size_t len) {
  if (!ex.bodies_to_js) return;
  const int dir = is_request ? 0 : 1;
  const uint64_t limit = driver_->shared()->config.body_limit;
  if (ex.body_copied[dir] >= limit) return;
  const uint64_t room = limit - ex.body_copied[dir];
  const size_t take = len < room ? len : static_cast<size_t>(room);
  ex.body_copied[dir] += take;
  if (ex.json_policy != nullptr) ex.json_body[dir].append(reinterpret_cast<const char*>(data), take);
  driver_->Emit2(kRecBody, static_cast<uint8_t>(dir), ex.stream, data, take, driver_->now_ns(), false);
}

void H1RecordSink::End(H1Exchange& ex) {
  if (!ex.to_js) return driver_->shared()->CountShed(ex.shed);
  const size_t err_len = ex.error != nullptr ? strlen(ex.error) : 0;
  std::string payload;
  payload.reserve(32 + err_len + ex.request_trailers.size() + ex.trailers.size());
  PutU32(&payload, ex.stream);
  PutU32(&payload, static_cast<uint32_t>(err_len));
  PutU32(&payload, static_cast<uint32_t>(ex.request_trailers.size()));
  PutU32(&payload, static_cast<uint32_t>(ex.trailers.size()));
  PutU64(&payload, ex.request_bytes);
  PutU64(&payload, ex.response_bytes);
  if (err_len > 0) payload.append(ex.error, err_len);
  payload += ex.request_trailers;
  payload += ex.trailers;
  PutEventJson(&payload, TapEventKind::kEnd, ex, *driver_);
  driver_->Emit(kRecExEnd, ex.response_complete ? 1 : 0, payload.data(), payload.size(), ex.end_ns, true);
}

void H1RecordSink::GiveUp(GiveUpReason reason) { driver_->GaveUp(reason); }

void H1RecordSink::Upgraded() {
  // JS follows the connection only if it was told of it (a tapped exchange): then it must stop.
  if (driver_->IsAnnounced()) driver_->Emit(kRecUpgraded, 0, nullptr, 0, driver_->now_ns(), true);
  driver_->StopObserving();
}

void H1RecordSink::SwitchedToH2c(H1Exchange& ex) {
  // The C++ HTTP/2 observer follows the rest (code 1), this exchange as stream 1. JS must know only
  // if it follows the connection already (it was told of it); else a tapped stream later announces
  // it as HTTP/2 (ObservationDriver::Announce).
  if (driver_->IsAnnounced()) driver_->Emit2(kRecH2c, 1, ex.stream, nullptr, 0, driver_->now_ns(), true);
}

}  // namespace meshtap
