// SPDX-License-Identifier: Apache-2.0
#include "metrics-h2-sink.h"

#include "metrics-labels.h"

#include <cstring>
#include <utility>

namespace meshtap {
namespace {

// Bodies are kept by exchange number, an adopted h2c exchange's under 1 (its stream on the wire):
// it keeps its HTTP/1 number N as its id, which H1MetricsSink::TakeBodies found it under.
uint32_t StreamKey(const H2Exchange& ex) { return ex.from_h2c ? 1 : ex.stream; }

ShownRequest ShowH2Request(const LabelSecretPolicy& policy, const H2Exchange& ex) {
  // Most requests hide nothing: no field list is made for them (as ShowH1Request).
  if (!MayHideFieldValues(policy, ex.authority, ex.path, ex.request_headers)) return ShownRequest{RedactAuthority(ex.authority), RedactUrlCredentials(ex.path)};
  std::vector<LabelField> fields;
  fields.reserve(ex.request_headers.size());
  for (const auto& f : ex.request_headers) fields.emplace_back(f.name, f.value);
  return ShowRequest(policy, ex.authority, ex.path, fields);
}

// The exchange's labels, made once (at its request head; an h2c stream 1's at End).
void Label(const LabelSecretPolicy& policy, H2Exchange& ex) {
  if (ex.labelled) return;
  ShownRequest shown = ShowH2Request(policy, ex);
  ex.label_authority = std::move(shown.authority);
  ex.label_path = std::move(shown.path);
  ex.labelled = true;
}

}  // namespace

H2MetricsSink::H2MetricsSink(HttpMetricsRegistry* metrics, RecorderRing* recorder, const H1MetricsSinkConfig& config, uint32_t conn_id, bool inbound,
                             std::string src, std::string dst)
    : metrics_(metrics), recorder_(recorder), config_(config), conn_id_(conn_id), inbound_(inbound), src_(std::move(src)), dst_(std::move(dst)) {
  if (metrics_ != nullptr) conn_ = metrics_->Open(inbound_, dst_, src_);
}

RecordedBodies* H2MetricsSink::BodiesOf(const H2Exchange& ex) {
  auto it = bodies_.find(StreamKey(ex));
  return it == bodies_.end() ? nullptr : &it->second;
}

void H2MetricsSink::Adopt(uint32_t stream, std::unique_ptr<RecordedBodies> bodies) {
  if (bodies != nullptr && recorder_ != nullptr) bodies_[stream] = std::move(*bodies);
}

void H2MetricsSink::RequestHead(H2Exchange& ex) {
  // An h2c stream 1 was counted (and its bodies asked for) as the HTTP/1 request it began as.
  if (ex.from_h2c) return;
  if (conn_) {
    Label(metrics_->secrets(), ex);
    metrics_->Request(conn_.get(), ex.label_authority);
  }
  if (config_.recorder_bodies && recorder_ != nullptr) {
    ex.capture_bodies = true;
    bodies_[StreamKey(ex)];
  }
}

void H2MetricsSink::BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) {
  if (RecordedBodies* b = BodiesOf(ex)) b->Append(is_request ? 0 : 1, data, len, config_.body_limit);
}

void H2MetricsSink::End(H2Exchange& ex) {
  if (conn_) {
    // An h2c stream 1's labels are made here, from the HTTP/1 request it began as (the same inputs).
    Label(metrics_->secrets(), ex);
    ExchangeOutcome o;
    o.authority = ex.label_authority;
    o.method = ex.method;
    o.path = ex.label_path;
    o.protocol = ex.is_grpc ? "grpc" : "h2";
    o.status = ex.status;
    o.grpc_status = ex.has_grpc_status ? ex.grpc_status : -1;
    // Ended with an error (reset, lost, no grpc-status): a failure whatever its status (exchange-events.ts).
    o.is_failed = ex.error != nullptr;
    o.unprocessed = static_cast<uint8_t>(ex.unprocessed);
    // Its outcome unknown (the observer gave up first), unless a 5xx head was seen (outcome.ts isUnobserved).
    o.unobserved = ex.error != nullptr && std::strcmp(ex.error, exchange_error::kGaveUp) == 0 && ex.status < 500;
    if (ex.status != 0) o.latency_ms = static_cast<double>(static_cast<int64_t>(ex.response_ns - ex.start_ns)) / 1e6;
    metrics_->End(conn_.get(), o);
  }
  if (recorder_ != nullptr) {
    RecordedBodies* b = BodiesOf(ex);
    if (b != nullptr) b->Settle(ex.request_bytes, ex.response_bytes);
    recorder_->Push(conn_id_, inbound_, src_, dst_, ex, b, &recorder_hints_);
    if (b != nullptr) bodies_.erase(StreamKey(ex));
  }
}

}  // namespace meshtap
