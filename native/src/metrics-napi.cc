// SPDX-License-Identifier: Apache-2.0
// The JS face of the C++ HTTP metrics and flight recorder (core/metrics-http.h,
// core/recorder-ring.h): snapshots made on the JS thread when /metrics is scraped or history is
// queried, the label helpers (for the tests that hold them to the TypeScript originals), and
// MetricsHarness, a registry fed from JS so tests can compare the C++ aggregation with the js
// engine's on the same exchanges without traffic.
#include <map>

#include "addon.h"
#include "core/metrics-http.h"
#include "core/metrics-labels.h"
#include "core/recorder-ring.h"
#include "metrics-napi.h"

namespace meshtap {

void InitH2SinkHarness(Napi::Env env, Napi::Object exports);  // h2-sink-napi.cc
void InitDriverHarness(Napi::Env env, Napi::Object exports);  // driver-napi.cc

namespace {

Napi::Array Buckets(Napi::Env env, const LatencyHistogram& h) {
  Napi::Array out = Napi::Array::New(env, kLatencyBuckets + 1);
  for (uint32_t i = 0; i <= kLatencyBuckets; i++) out.Set(i, Napi::Number::New(env, static_cast<double>(h.buckets[i])));
  return out;
}

std::string Utf8Arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Value RouteTemplateJs(const Napi::CallbackInfo& info) {
  const bool is_grpc = info.Length() > 1 && info[1].ToBoolean().Value();
  return Napi::String::New(info.Env(), RouteTemplate(Utf8Arg(info, 0), is_grpc));
}

Napi::Value RedactAuthorityJs(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), RedactAuthority(Utf8Arg(info, 0))); }

// [[name, value], ...] as UTF-8 strings (names of HTTP/2 fields are latin1 in JS; ASCII here).
void HeaderPairs(Napi::Value v, std::vector<std::string>* storage, std::vector<LabelField>* out) {
  storage->clear();
  out->clear();
  if (!v.IsArray()) return;
  Napi::Array a = v.As<Napi::Array>();
  storage->reserve(a.Length() * 2);
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Array pair = a.Get(i).As<Napi::Array>();
    storage->push_back(pair.Get(0u).As<Napi::String>().Utf8Value());
    storage->push_back(pair.Get(1u).As<Napi::String>().Utf8Value());
  }
  for (size_t i = 0; i < storage->size(); i += 2) out->emplace_back((*storage)[i], (*storage)[i + 1]);
}

// showRequest(policy, authority, path, headers) -> {authority, path} (ShowRequest).
Napi::Value ShowRequestJs(const Napi::CallbackInfo& info) {
  LabelSecretPolicy policy = DefaultLabelSecretPolicy();
  ReadLabelSecretPolicy(info[0], &policy);
  std::vector<std::string> storage;
  std::vector<LabelField> fields;
  HeaderPairs(info[3], &storage, &fields);
  const ShownRequest shown = ShowRequest(policy, Utf8Arg(info, 1), Utf8Arg(info, 2), fields);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("authority", shown.authority);
  o.Set("path", shown.path);
  return o;
}

// mayHideValues(policy, head: Buffer) -> boolean (MayHideValues on an HTTP/1 request head's octets).
Napi::Value MayHideValuesJs(const Napi::CallbackInfo& info) {
  LabelSecretPolicy policy = DefaultLabelSecretPolicy();
  ReadLabelSecretPolicy(info[0], &policy);
  if (info.Length() < 2 || !info[1].IsBuffer()) throw Napi::TypeError::New(info.Env(), "expected a Buffer");
  const Napi::Buffer<char> head = info[1].As<Napi::Buffer<char>>();
  return Napi::Boolean::New(info.Env(), MayHideValues(std::string(head.Data(), head.Length()), policy));
}

// mayHideFieldValues(policy, authority, path, fields) -> boolean (MayHideFieldValues: the HTTP/2 sink's pre-check).
Napi::Value MayHideFieldValuesJs(const Napi::CallbackInfo& info) {
  LabelSecretPolicy policy = DefaultLabelSecretPolicy();
  ReadLabelSecretPolicy(info[0], &policy);
  std::vector<std::string> storage;
  std::vector<LabelField> pairs;
  HeaderPairs(info[3], &storage, &pairs);
  struct Field {
    std::string_view name, value;
  };
  std::vector<Field> fields;
  for (const auto& [n, v] : pairs) fields.push_back(Field{n, v});
  return Napi::Boolean::New(info.Env(), MayHideFieldValues(policy, Utf8Arg(info, 1), Utf8Arg(info, 2), fields));
}

// The JS built-ins the port reproduces, for the tests: base64ToUtf8(s), encodeUriComponent(s),
// decodeUriComponent(s) (null where JS throws), redactUrlCredentials(s).
Napi::Value Base64ToUtf8Js(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), NodeBase64ToUtf8(Utf8Arg(info, 0))); }
Napi::Value EncodeUriComponentJs(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), EncodeUriComponent(Utf8Arg(info, 0))); }
Napi::Value DecodeUriComponentJs(const Napi::CallbackInfo& info) {
  std::string out;
  if (!DecodeUriComponent(Utf8Arg(info, 0), &out)) return info.Env().Null();
  return Napi::String::New(info.Env(), out);
}
Napi::Value RedactUrlCredentialsJs(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), RedactUrlCredentials(Utf8Arg(info, 0))); }

// new MetricsHarness({maxAuthorities, maxRoutes, maxPeers, secrets?}): open(id, inbound, src, dst),
// request(id, authority, path, requestHeaders), end(id, {authority, method, path, requestHeaders,
// protocol, status, grpcStatus, isFailed, latencyMs, unprocessed?: 'refused' | 'goaway'}), snapshot(),
// counters() -> [[key, n]].
// Labels are made as the sinks make them (ShowRequest, from raw authority, path and headers).
class MetricsHarness : public Napi::ObjectWrap<MetricsHarness> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MetricsHarness",
                       {InstanceMethod("open", &MetricsHarness::Open), InstanceMethod("request", &MetricsHarness::Request),
                        InstanceMethod("end", &MetricsHarness::End), InstanceMethod("snapshot", &MetricsHarness::Snapshot),
                        InstanceMethod("counters", &MetricsHarness::Counters)});
  }

  explicit MetricsHarness(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MetricsHarness>(info) {
    HttpMetricsLimits limits;
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Object o = info[0].As<Napi::Object>();
      if (o.Has("maxAuthorities")) limits.max_authorities = o.Get("maxAuthorities").As<Napi::Number>().Uint32Value();
      if (o.Has("maxRoutes")) limits.max_routes = o.Get("maxRoutes").As<Napi::Number>().Uint32Value();
      if (o.Has("maxPeers")) limits.max_peers = o.Get("maxPeers").As<Napi::Number>().Uint32Value();
      if (o.Has("secrets")) ReadLabelSecretPolicy(o.Get("secrets"), &limits.secrets);
    }
    registry_ = std::make_unique<HttpMetricsRegistry>(limits, &counters_);
  }

 private:
  MetricsConn* Conn(const Napi::CallbackInfo& info) {
    auto it = conns_.find(info[0].As<Napi::Number>().Uint32Value());
    if (it == conns_.end()) throw Napi::Error::New(info.Env(), "MetricsHarness: unknown connection");
    return it->second.get();
  }
  Napi::Value Open(const Napi::CallbackInfo& info) {
    conns_[info[0].As<Napi::Number>().Uint32Value()] = registry_->Open(info[1].ToBoolean().Value(), Utf8Arg(info, 3), Utf8Arg(info, 2));
    return info.Env().Undefined();
  }
  Napi::Value Request(const Napi::CallbackInfo& info) {
    std::vector<std::string> storage;
    std::vector<LabelField> fields;
    HeaderPairs(info[3], &storage, &fields);
    const ShownRequest shown = ShowRequest(registry_->secrets(), Utf8Arg(info, 1), Utf8Arg(info, 2), fields);
    registry_->Request(Conn(info), shown.authority);
    return info.Env().Undefined();
  }
  Napi::Value End(const Napi::CallbackInfo& info) {
    Napi::Object o = info[1].As<Napi::Object>();
    const std::string authority = o.Get("authority").As<Napi::String>().Utf8Value();
    const std::string method = o.Get("method").As<Napi::String>().Utf8Value();
    const std::string path = o.Get("path").As<Napi::String>().Utf8Value();
    const std::string protocol = o.Get("protocol").As<Napi::String>().Utf8Value();
    std::vector<std::string> storage;
    std::vector<LabelField> fields;
    HeaderPairs(o.Get("requestHeaders"), &storage, &fields);
    const ShownRequest shown = ShowRequest(registry_->secrets(), authority, path, fields);
    ExchangeOutcome out;
    out.authority = shown.authority;
    out.method = method;
    out.path = shown.path;
    static const char* const kProtocols[] = {"http/1.1", "http/1.0", "h2", "grpc"};
    for (const char* p : kProtocols) {
      if (protocol == p) out.protocol = p;
    }
    out.status = o.Get("status").As<Napi::Number>().Int32Value();
    Napi::Value g = o.Get("grpcStatus");
    out.grpc_status = g.IsNumber() ? g.As<Napi::Number>().Int64Value() : -1;
    out.is_failed = o.Get("isFailed").ToBoolean().Value();
    Napi::Value l = o.Get("latencyMs");
    out.latency_ms = l.IsNumber() ? l.As<Napi::Number>().DoubleValue() : 0;
    Napi::Value u = o.Get("unprocessed");
    const std::string unprocessed = u.IsString() ? u.As<Napi::String>().Utf8Value() : "";
    out.unprocessed = unprocessed == "refused" ? 1 : unprocessed == "goaway" ? 2 : 0;
    registry_->End(Conn(info), out);
    return info.Env().Undefined();
  }
  Napi::Value Snapshot(const Napi::CallbackInfo& info) { return HttpMetricsToJs(info.Env(), *registry_); }
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    for (const auto& [key, n] : counters_.Snapshot()) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, key));
      pair.Set(1u, Napi::Number::New(env, static_cast<double>(n)));
      out.Set(i++, pair);
    }
    return out;
  }

  EventCounters counters_;
  std::unique_ptr<HttpMetricsRegistry> registry_;
  std::map<uint32_t, std::unique_ptr<MetricsConn>> conns_;
};

// new RecorderHarness(maxBytes): push({connId, stream, inbound, isHttp10, src, dst, startNs,
// responseNs, endNs, status, requestHead, responseHead, requestTrailers, trailers, requestBytes,
// responseBytes, error?, bodies?: [{data, size, truncated}] x2}), query(sinceEndNs) -> Buffer,
// stats() -> {bytes, count, evicted}: the C++ flight recorder without traffic (heads are latin1).
class RecorderHarness : public Napi::ObjectWrap<RecorderHarness> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RecorderHarness",
                       {InstanceMethod("push", &RecorderHarness::Push), InstanceMethod("query", &RecorderHarness::Query), InstanceMethod("stats", &RecorderHarness::Stats)});
  }
  explicit RecorderHarness(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RecorderHarness>(info) {
    ring_ = std::make_unique<RecorderRing>(info[0].As<Napi::Number>().Uint32Value());
  }

 private:
  static std::string Latin1(Napi::Object o, const char* key) {
    Napi::Value v = o.Get(key);
    if (!v.IsString()) return "";
    size_t len = 0;
    napi_get_value_string_latin1(o.Env(), v, nullptr, 0, &len);
    std::string out(len + 1, '\0');
    napi_get_value_string_latin1(o.Env(), v, out.data(), out.size(), &len);
    out.resize(len);
    return out;
  }
  static uint64_t U64(Napi::Object o, const char* key) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()) : 0;
  }
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Object o = info[0].As<Napi::Object>();
    H1Exchange ex;
    ex.stream = static_cast<uint32_t>(U64(o, "stream"));
    ex.is_http10 = o.Get("isHttp10").ToBoolean().Value();
    ex.start_ns = U64(o, "startNs");
    ex.response_ns = U64(o, "responseNs");
    ex.end_ns = U64(o, "endNs");
    ex.status = static_cast<int>(U64(o, "status"));
    ex.request_head = Latin1(o, "requestHead");
    ex.response_head = Latin1(o, "responseHead");
    ex.request_trailers = Latin1(o, "requestTrailers");
    ex.trailers = Latin1(o, "trailers");
    ex.request_bytes = U64(o, "requestBytes");
    ex.response_bytes = U64(o, "responseBytes");
    const std::string error = Latin1(o, "error");
    if (o.Get("error").IsString()) ex.error = error.c_str();
    RecordedBodies bodies;
    const bool has_bodies = o.Get("bodies").IsArray();
    if (has_bodies) {
      Napi::Array b = o.Get("bodies").As<Napi::Array>();
      for (uint32_t d = 0; d < 2; d++) {
        Napi::Object x = b.Get(d).As<Napi::Object>();
        Napi::Buffer<char> data = x.Get("data").As<Napi::Buffer<char>>();
        bodies.data[d].assign(data.Data(), data.Length());
        bodies.size[d] = U64(x, "size");
        bodies.truncated[d] = x.Get("truncated").ToBoolean().Value();
      }
    }
    ring_->Push(static_cast<uint32_t>(U64(o, "connId")), o.Get("inbound").ToBoolean().Value(), Latin1(o, "src"), Latin1(o, "dst"), ex,
                has_bodies ? &bodies : nullptr);
    return info.Env().Undefined();
  }
  Napi::Value Query(const Napi::CallbackInfo& info) {
    std::string out = ring_->Query(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
    return Napi::Buffer<char>::Copy(info.Env(), out.data(), out.size());
  }
  Napi::Value Stats(const Napi::CallbackInfo& info) { return RecorderStatsToJs(info.Env(), ring_->Stats()); }
  std::unique_ptr<RecorderRing> ring_;
};

}  // namespace

void ReadLabelSecretPolicy(Napi::Value v, LabelSecretPolicy* out) {
  if (!v.IsObject()) return;
  Napi::Object o = v.As<Napi::Object>();
  auto list = [&](const char* key, std::vector<std::string>* into) {
    Napi::Value l = o.Get(key);
    if (!l.IsArray()) throw Napi::TypeError::New(v.Env(), std::string("label secrets: ") + key + " must be an array of strings");
    Napi::Array a = l.As<Napi::Array>();
    into->clear();
    for (uint32_t i = 0; i < a.Length(); i++) into->push_back(a.Get(i).As<Napi::String>().Utf8Value());
  };
  list("sensitiveHeaders", &out->sensitive);
  list("queryParams", &out->query_names);
}

std::shared_ptr<const TapJsonPolicy> ReadTapJsonPolicy(Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  auto p = std::make_shared<TapJsonPolicy>();
  auto list = [&](const char* key, std::vector<std::string>* into) {
    Napi::Value l = o.Get(key);
    if (!l.IsArray()) throw Napi::TypeError::New(v.Env(), std::string("tap json: ") + key + " must be an array of strings");
    Napi::Array a = l.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) into->push_back(a.Get(i).As<Napi::String>().Utf8Value());
  };
  list("sensitiveHeaders", &p->sensitive);
  list("bodyFields", &p->body_fields);
  p->origin_ns = o.Get("originNs").As<Napi::Number>().DoubleValue();
  p->time_origin_ms = o.Get("timeOrigin").As<Napi::Number>().DoubleValue();
  return p;
}

Napi::Value RecorderStatsToJs(Napi::Env env, const RecorderStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytes", static_cast<double>(s.bytes));
  o.Set("count", static_cast<double>(s.count));
  o.Set("evicted", static_cast<double>(s.evicted));
  o.Set("oldestEndNs", static_cast<double>(s.oldest_end_ns));
  return o;
}

Napi::Value HttpMetricsToJs(Napi::Env env, HttpMetricsRegistry& registry) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array routes = Napi::Array::New(env);
  Napi::Array peers = Napi::Array::New(env);
  registry.Read([&](const std::deque<std::unique_ptr<HttpRouteStats>>& rs, const std::deque<std::unique_ptr<PeerRoutes>>& ps) {
    uint32_t i = 0;
    for (const auto& r : rs) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("direction", r->direction);
      o.Set("authority", r->authority);
      o.Set("target", r->target);
      o.Set("requests", static_cast<double>(r->requests));
      if (r->unprocessed[0] != 0 || r->unprocessed[1] != 0) {
        Napi::Object u = Napi::Object::New(env);
        u.Set("refused", static_cast<double>(r->unprocessed[0]));
        u.Set("goaway", static_cast<double>(r->unprocessed[1]));
        o.Set("unprocessed", u);
      }
      Napi::Array responses = Napi::Array::New(env, r->responses.size());
      uint32_t j = 0;
      for (const auto& x : r->responses) {
        Napi::Object v = Napi::Object::New(env);
        v.Set("status", x.status);
        if (x.grpc_status >= 0) v.Set("grpcStatus", static_cast<double>(x.grpc_status));
        v.Set("failure", x.failure);
        v.Set("count", static_cast<double>(x.count));
        responses.Set(j++, v);
      }
      o.Set("responses", responses);
      Napi::Array latency = Napi::Array::New(env, r->latency.size());
      j = 0;
      for (const auto& [status, h] : r->latency) {
        Napi::Object v = Napi::Object::New(env);
        v.Set("status", status);
        v.Set("buckets", Buckets(env, h));
        v.Set("sum", h.sum);
        v.Set("count", static_cast<double>(h.count));
        latency.Set(j++, v);
      }
      o.Set("latency", latency);
      routes.Set(i++, o);
    }
    i = 0;
    for (const auto& p : ps) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("direction", p->inbound ? "inbound" : "outbound");
      o.Set("target", p->target);
      if (p->inbound) o.Set("source", p->source);
      Napi::Array records = Napi::Array::New(env);
      uint32_t j = 0;
      for (const auto& route : p->route_order) {
        for (const auto& rec : p->by_route.at(route)) {
          Napi::Object v = Napi::Object::New(env);
          v.Set("method", rec->method);
          v.Set("route", rec->route);
          v.Set("protocol", rec->protocol);
          v.Set("success", static_cast<double>(rec->success));
          v.Set("failure", static_cast<double>(rec->failure));
          v.Set("buckets", Buckets(env, rec->latency));
          v.Set("sum", rec->latency.sum);
          v.Set("count", static_cast<double>(rec->latency.count));
          records.Set(j++, v);
        }
      }
      o.Set("records", records);
      peers.Set(i++, o);
    }
  });
  out.Set("routes", routes);
  out.Set("peers", peers);
  return out;
}

void InitMetrics(Napi::Env env, Napi::Object exports) {
  exports.Set("routeTemplate", Napi::Function::New(env, RouteTemplateJs, "routeTemplate"));
  exports.Set("redactAuthority", Napi::Function::New(env, RedactAuthorityJs, "redactAuthority"));
  exports.Set("showRequest", Napi::Function::New(env, ShowRequestJs, "showRequest"));
  exports.Set("mayHideValues", Napi::Function::New(env, MayHideValuesJs, "mayHideValues"));
  exports.Set("mayHideFieldValues", Napi::Function::New(env, MayHideFieldValuesJs, "mayHideFieldValues"));
  exports.Set("base64ToUtf8", Napi::Function::New(env, Base64ToUtf8Js, "base64ToUtf8"));
  exports.Set("encodeUriComponent", Napi::Function::New(env, EncodeUriComponentJs, "encodeUriComponent"));
  exports.Set("decodeUriComponent", Napi::Function::New(env, DecodeUriComponentJs, "decodeUriComponent"));
  exports.Set("redactUrlCredentials", Napi::Function::New(env, RedactUrlCredentialsJs, "redactUrlCredentials"));
  exports.Set("MetricsHarness", MetricsHarness::Define(env));
  exports.Set("RecorderHarness", RecorderHarness::Define(env));
  InitH2SinkHarness(env, exports);
  InitDriverHarness(env, exports);
}

}  // namespace meshtap
