// SPDX-License-Identifier: Apache-2.0
// H2SinkHarness: the C++ HTTP/2 sinks (core/h2-record-sink.h, core/metrics-h2-sink.h, teed as
// the engine tees them) fed from JS, without traffic: a test describes a stream as the HTTP/2
// observer fills core/h2-exchange.h's H2Exchange (proxy/h2/stream-tracker.ts's Exchange, times in
// ns) and calls the sink steps in wire order; the records the sinks wrote (the engine's event-ring
// batch), the C++ metrics and the C++ flight recorder are read back as the engine's JS face reads
// them. Tests hold all three to the js engine's exchange sink fed the same exchanges.
//
// new H2SinkHarness({connId, inbound, src, dst, bodyLimit, recorderBytes, recorderBodies}):
// setTapped(on), setWantBodies(on), setTapJson(policy | null), requestHead(ex) -> captureBodies, responseHead(ex),
// body(stream, isRequest, buffer), end(ex), giveUp(reason), drain() -> Buffer | undefined,
// httpMetrics(), recorderQuery(sinceEndNs) -> Buffer, recorderStats().
#include <map>
#include <memory>

#include "addon.h"
#include "core/connection.h"
#include "core/detect-driver.h"
#include "core/engine-shared.h"
#include "core/h2-record-sink.h"
#include "core/metrics-h2-sink.h"
#include "metrics-napi.h"

namespace meshtap {
namespace {

// A JS string as UTF-8 (header values and the strings from them, h2-exchange.h).
std::string Utf8(Napi::Value v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(); }

// A JS string's chars as octets (header names, addresses).
std::string Latin1(Napi::Value v) {
  if (!v.IsString()) return "";
  size_t len = 0;
  napi_get_value_string_latin1(v.Env(), v, nullptr, 0, &len);
  std::string out(len + 1, '\0');
  napi_get_value_string_latin1(v.Env(), v, out.data(), out.size(), &len);
  out.resize(len);
  return out;
}

uint64_t U64(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()) : 0;
}

H2FieldList Fields(Napi::Object o, const char* key) {
  H2FieldList out;
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Array pair = a.Get(i).As<Napi::Array>();
    out.push_back({Latin1(pair.Get(0u)), Utf8(pair.Get(1u))});
  }
  return out;
}

class H2SinkHarness : public Napi::ObjectWrap<H2SinkHarness> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "H2SinkHarness",
                       {InstanceMethod("setTapped", &H2SinkHarness::SetTapped), InstanceMethod("setWantBodies", &H2SinkHarness::SetWantBodies),
                        InstanceMethod("setTapJson", &H2SinkHarness::SetTapJson),
                        InstanceMethod("requestHead", &H2SinkHarness::RequestHead), InstanceMethod("responseHead", &H2SinkHarness::ResponseHead),
                        InstanceMethod("body", &H2SinkHarness::Body), InstanceMethod("end", &H2SinkHarness::End),
                        InstanceMethod("giveUp", &H2SinkHarness::GiveUp), InstanceMethod("drain", &H2SinkHarness::Drain),
                        InstanceMethod("httpMetrics", &H2SinkHarness::HttpMetrics), InstanceMethod("recorderQuery", &H2SinkHarness::RecorderQuery),
                        InstanceMethod("recorderStats", &H2SinkHarness::RecorderStats)});
  }

  explicit H2SinkHarness(const Napi::CallbackInfo& info) : Napi::ObjectWrap<H2SinkHarness>(info) {
    Napi::Object o = info[0].As<Napi::Object>();
    EngineConfig config;
    config.body_limit = o.Has("bodyLimit") ? U64(o, "bodyLimit") : config.body_limit;
    config.recorder_bytes = o.Has("recorderBytes") ? U64(o, "recorderBytes") : config.recorder_bytes;
    config.recorder_bodies = o.Get("recorderBodies").ToBoolean().Value();
    config.ring_bytes = 4 * 1024 * 1024;
    shared_ = std::make_unique<EngineShared>(config);
    conn_.id = static_cast<uint32_t>(U64(o, "connId"));
    conn_.inbound = o.Get("inbound").ToBoolean().Value();
    conn_.is_observed = true;
    conn_.is_announced = true;  // JS was told of it already (the caller sends open and detected itself)
    const std::string src = Latin1(o.Get("src")), dst = Latin1(o.Get("dst"));
    driver_ = std::make_unique<ObservationDriver>(shared_.get(), &conn_, src + "\n" + dst);
    H1MetricsSinkConfig mc;
    mc.recorder_bodies = config.recorder_bodies;
    mc.body_limit = config.body_limit;
    metrics_ = std::make_unique<H2MetricsSink>(&shared_->http, &shared_->recorder, mc, conn_.id, conn_.inbound, src, dst);
    records_ = std::make_unique<H2RecordSink>(driver_.get());
    tee_ = std::make_unique<H2TeeSink>(metrics_.get(), records_.get());
  }

 private:
  // The stream `ex.stream` with every field the JS object gives (what the observer knows by now).
  H2Exchange& Fill(Napi::Object o) {
    H2Exchange& ex = streams_[static_cast<uint32_t>(U64(o, "stream"))];
    ex.stream = static_cast<uint32_t>(U64(o, "stream"));
    ex.is_grpc = o.Get("isGrpc").ToBoolean().Value();
    ex.from_h2c = o.Get("fromH2c").ToBoolean().Value();
    ex.method = Utf8(o.Get("method"));
    ex.scheme = Utf8(o.Get("scheme"));
    ex.authority = Utf8(o.Get("authority"));
    ex.path = Utf8(o.Get("path"));
    ex.request_headers = Fields(o, "requestHeaders");
    ex.request_trailers = Fields(o, "requestTrailers");
    ex.status = static_cast<int>(U64(o, "status"));
    ex.response_headers = Fields(o, "responseHeaders");
    ex.trailers = Fields(o, "trailers");
    Napi::Value g = o.Get("grpcStatus");
    ex.has_grpc_status = g.IsNumber();
    ex.grpc_status = g.IsNumber() ? g.As<Napi::Number>().Int64Value() : 0;
    Napi::Value m = o.Get("grpcMessage");
    ex.has_grpc_message = m.IsString();
    ex.grpc_message = m.IsString() ? m.As<Napi::String>().Utf8Value() : "";
    ex.request_bytes = U64(o, "requestBytes");
    ex.response_bytes = U64(o, "responseBytes");
    ex.request_messages = static_cast<uint32_t>(U64(o, "requestMessages"));
    ex.response_messages = static_cast<uint32_t>(U64(o, "responseMessages"));
    ex.request_compressed = o.Get("requestCompressed").ToBoolean().Value();
    ex.response_compressed = o.Get("responseCompressed").ToBoolean().Value();
    ex.start_ns = U64(o, "startNs");
    ex.response_ns = U64(o, "responseNs");
    ex.end_ns = U64(o, "endNs");
    Napi::Value e = o.Get("error");
    error_ = e.IsString() ? Latin1(e) : "";
    ex.error = e.IsString() ? error_.c_str() : nullptr;
    Napi::Value u = o.Get("unprocessed");
    const std::string unprocessed = u.IsString() ? u.As<Napi::String>().Utf8Value() : "";
    ex.unprocessed = unprocessed == "refused" ? Unprocessed::kRefused : unprocessed == "goaway" ? Unprocessed::kGoaway : Unprocessed::kNo;
    return ex;
  }

  Napi::Value SetTapped(const Napi::CallbackInfo& info) {
    shared_->tapped.store(info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }
  Napi::Value SetWantBodies(const Napi::CallbackInfo& info) {
    shared_->want_bodies.store(info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }
  Napi::Value SetTapJson(const Napi::CallbackInfo& info) {
    shared_->SetTapJson(ReadTapJsonPolicy(info[0]));
    return info.Env().Undefined();
  }
  Napi::Value RequestHead(const Napi::CallbackInfo& info) {
    H2Exchange& ex = Fill(info[0].As<Napi::Object>());
    Napi::Object o = info[0].As<Napi::Object>();
    if (ex.from_h2c) {
      // As the observer carries them over from the HTTP/1 exchange.
      ex.to_js = o.Get("toJs").ToBoolean().Value();
      ex.bodies_to_js = ex.capture_bodies = o.Get("bodiesToJs").ToBoolean().Value();
    }
    tee_->RequestHead(ex);
    return Napi::Boolean::New(info.Env(), ex.capture_bodies);
  }
  Napi::Value ResponseHead(const Napi::CallbackInfo& info) {
    tee_->ResponseHead(Fill(info[0].As<Napi::Object>()));
    return info.Env().Undefined();
  }
  Napi::Value Body(const Napi::CallbackInfo& info) {
    auto it = streams_.find(info[0].As<Napi::Number>().Uint32Value());
    if (it == streams_.end()) throw Napi::Error::New(info.Env(), "H2SinkHarness: unknown stream");
    Napi::Buffer<uint8_t> data = info[2].As<Napi::Buffer<uint8_t>>();
    // The observer hands DATA only to streams whose sinks asked, at most the body limit per direction.
    if (it->second.capture_bodies) tee_->BodyData(it->second, info[1].ToBoolean().Value(), data.Data(), data.Length());
    return info.Env().Undefined();
  }
  Napi::Value End(const Napi::CallbackInfo& info) {
    H2Exchange& ex = Fill(info[0].As<Napi::Object>());
    tee_->End(ex);
    streams_.erase(ex.stream);
    return info.Env().Undefined();
  }
  Napi::Value GiveUp(const Napi::CallbackInfo& info) {
    tee_->GiveUp(static_cast<GiveUpReason>(info[0].As<Napi::Number>().Uint32Value()));
    return info.Env().Undefined();
  }
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    size_t len = 0;
    uint8_t* batch = shared_->ring.Take(&len);
    if (batch == nullptr) return info.Env().Undefined();
    return Napi::Buffer<uint8_t>::New(info.Env(), batch, len, [](Napi::Env, uint8_t* p) { free(p); });
  }
  Napi::Value HttpMetrics(const Napi::CallbackInfo& info) { return HttpMetricsToJs(info.Env(), shared_->http); }
  Napi::Value RecorderQuery(const Napi::CallbackInfo& info) {
    std::string out = shared_->recorder.Query(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
    return Napi::Buffer<char>::Copy(info.Env(), out.data(), out.size());
  }
  Napi::Value RecorderStats(const Napi::CallbackInfo& info) { return RecorderStatsToJs(info.Env(), shared_->recorder.Stats()); }

  std::unique_ptr<EngineShared> shared_;
  Conn conn_;
  std::unique_ptr<ObservationDriver> driver_;
  std::unique_ptr<H2MetricsSink> metrics_;
  std::unique_ptr<H2RecordSink> records_;
  std::unique_ptr<H2TeeSink> tee_;
  std::map<uint32_t, H2Exchange> streams_;
  std::string error_;
};

}  // namespace

void InitH2SinkHarness(Napi::Env env, Napi::Object exports) { exports.Set("H2SinkHarness", H2SinkHarness::Define(env)); }

}  // namespace meshtap
