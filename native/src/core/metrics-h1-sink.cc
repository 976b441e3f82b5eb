// SPDX-License-Identifier: Apache-2.0
#include "metrics-h1-sink.h"

#include "metrics-labels.h"

#include <cstring>

namespace meshtap {

H1MetricsSink::H1MetricsSink(HttpMetricsRegistry* metrics, RecorderRing* recorder, const H1MetricsSinkConfig& config, uint32_t conn_id, bool inbound,
                             std::string src, std::string dst)
    : metrics_(metrics), recorder_(recorder), config_(config), conn_id_(conn_id), inbound_(inbound), src_(std::move(src)), dst_(std::move(dst)) {
  if (metrics_ != nullptr) conn_ = metrics_->Open(inbound_, dst_, src_);
}

ShownRequest ShowH1Request(const LabelSecretPolicy& policy, const H1Exchange& ex) {
  // Most requests hide nothing: no field is decoded for them.
  if (!MayHideValues(ex.request_head, policy)) return ShownRequest{RedactAuthority(ex.authority), RedactUrlCredentials(ex.path)};
  std::vector<std::string> values;
  std::vector<LabelField> fields;
  H1HeadFields(ex.request_head, &values, &fields);
  return ShowRequest(policy, ex.authority, ex.path, fields);
}

namespace {

// The exchange's labels, made once (at its request head, or at End if it had none).
void Label(const LabelSecretPolicy& policy, H1Exchange& ex) {
  if (ex.labelled) return;
  ShownRequest shown = ShowH1Request(policy, ex);
  ex.label_authority = std::move(shown.authority);
  ex.label_path = std::move(shown.path);
  ex.labelled = true;
}

}  // namespace

void H1MetricsSink::RequestHead(H1Exchange& ex) {
  if (conn_) {
    Label(metrics_->secrets(), ex);
    metrics_->Request(conn_.get(), ex.label_authority);
  }
  if (config_.recorder_bodies && recorder_ != nullptr) {
    ex.capture_bodies = true;
    bodies_[ex.stream];
  }
}

void H1MetricsSink::BodyData(H1Exchange& ex, bool is_request, const uint8_t* data, size_t len) {
  auto it = bodies_.find(ex.stream);
  if (it != bodies_.end()) it->second.Append(is_request ? 0 : 1, data, len, config_.body_limit);
}

void H1MetricsSink::End(H1Exchange& ex) {
  if (conn_) {
    Label(metrics_->secrets(), ex);
    ExchangeOutcome o;
    o.authority = ex.label_authority;
    o.method = ex.method;
    o.path = ex.label_path;
    o.protocol = ex.is_http10 ? "http/1.0" : "http/1.1";
    o.status = ex.status;
    // A response cut short (an error before it ended): a failure whatever its status; an error
    // after it came whole tells of the request alone (exchange-events.ts).
    o.is_failed = ex.error != nullptr && !ex.response_complete;
    // The observer gave up before the response came whole: its outcome is unknown, unless a 5xx head
    // was seen (a failure whether or not its body arrived). tap-protocol/outcome.ts isUnobserved.
    o.unobserved = ex.error != nullptr && std::strcmp(ex.error, exchange_error::kGaveUp) == 0 && !ex.response_complete && ex.status < 500;
    if (ex.status != 0) o.latency_ms = static_cast<double>(static_cast<int64_t>(ex.response_ns - ex.start_ns)) / 1e6;
    metrics_->End(conn_.get(), o);
  }
  if (recorder_ != nullptr) {
    auto it = bodies_.find(ex.stream);
    if (it != bodies_.end()) it->second.Settle(ex.request_bytes, ex.response_bytes);
    recorder_->Push(conn_id_, inbound_, src_, dst_, ex, it == bodies_.end() ? nullptr : &it->second);
    if (it != bodies_.end()) bodies_.erase(it);
  }
}

std::unique_ptr<RecordedBodies> H1MetricsSink::TakeBodies(uint32_t stream) {
  auto it = bodies_.find(stream);
  if (it == bodies_.end()) return nullptr;
  auto out = std::make_unique<RecordedBodies>(std::move(it->second));
  bodies_.erase(it);
  return out;
}

}  // namespace meshtap
