// SPDX-License-Identifier: Apache-2.0
// NativeEngine: the JS face of the C++ engine (core/engine.h). Only the JS thread calls in
// here; the workers reach JS only through the doorbell (a threadsafe-function call, at most
// about once per millisecond) after which JS takes the whole record batch with drain().
// Every entry point catches C++ exceptions at this boundary: none escapes into Node.
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "addon.h"
#include "core/addr.h"
#include "core/engine.h"
#include "metrics-napi.h"

namespace meshtap {
namespace {

struct DoorbellTarget {
  Napi::ObjectReference receiver;
  Napi::AsyncContext context;
};

class NativeEngine : public Napi::ObjectWrap<NativeEngine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeEngine",
                       {InstanceMethod("listen", &NativeEngine::Listen), InstanceMethod("drain", &NativeEngine::Drain),
                        InstanceMethod("unobserve", &NativeEngine::Unobserve), InstanceMethod("setWantBodies", &NativeEngine::SetWantBodies), InstanceMethod("tcpStats", &NativeEngine::TcpStats), InstanceMethod("counters", &NativeEngine::Counters),
                        InstanceMethod("httpMetrics", &NativeEngine::HttpMetrics), InstanceMethod("recorderQuery", &NativeEngine::RecorderQuery),
                        InstanceMethod("recorderStats", &NativeEngine::RecorderStats), InstanceMethod("setTapped", &NativeEngine::SetTapped),
                        InstanceMethod("setShedding", &NativeEngine::SetShedding), InstanceMethod("shedEvents", &NativeEngine::ShedEvents),
                        InstanceMethod("setTapGate", &NativeEngine::SetTapGate), InstanceMethod("setTapJson", &NativeEngine::SetTapJson), InstanceMethod("tapGated", &NativeEngine::TapGated),
                        InstanceMethod("close", &NativeEngine::Close)});
  }

  NativeEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEngine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "new NativeEngine(options, doorbell)");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    EngineConfig config;
    if (o.Has("threads")) config.threads = o.Get("threads").As<Napi::Number>().Int32Value();
    if (o.Has("observe")) config.observe = o.Get("observe").ToBoolean().Value();
    if (o.Has("ringBytes")) config.ring_bytes = static_cast<size_t>(o.Get("ringBytes").As<Napi::Number>().Int64Value());
    if (o.Has("idleTimeoutMs")) config.idle_timeout_ns = static_cast<uint64_t>(o.Get("idleTimeoutMs").As<Napi::Number>().Int64Value()) * 1000000ull;
    if (o.Has("maxPipes")) config.max_pipes = static_cast<size_t>(o.Get("maxPipes").As<Napi::Number>().Int64Value());
    if (o.Has("maxTargets")) config.max_targets = static_cast<size_t>(o.Get("maxTargets").As<Napi::Number>().Int64Value());
    if (o.Has("detectTimeoutMs")) config.detect_timeout_ns = static_cast<uint64_t>(o.Get("detectTimeoutMs").As<Napi::Number>().Int64Value()) * 1000000ull;
    if (o.Has("bodyLimit")) config.body_limit = static_cast<uint64_t>(o.Get("bodyLimit").As<Napi::Number>().Int64Value());
    if (o.Has("maxHeaderBytes")) config.limits.max_header_bytes = static_cast<size_t>(o.Get("maxHeaderBytes").As<Napi::Number>().Int64Value());
    if (o.Has("maxStreams")) config.limits.max_streams = static_cast<size_t>(o.Get("maxStreams").As<Napi::Number>().Int64Value());
    if (o.Has("recorderBytes")) config.recorder_bytes = static_cast<size_t>(o.Get("recorderBytes").As<Napi::Number>().Int64Value());
    if (o.Has("recorderBodies")) config.recorder_bodies = o.Get("recorderBodies").ToBoolean().Value();
    if (o.Has("announceConnections")) config.announce_connections = o.Get("announceConnections").ToBoolean().Value();
    if (o.Has("busyPollUs")) config.busy_poll_max_ns = static_cast<uint64_t>(o.Get("busyPollUs").As<Napi::Number>().Int64Value()) * 1000ull;
    if (o.Has("maxRoutes")) config.http_limits.max_routes = static_cast<size_t>(o.Get("maxRoutes").As<Napi::Number>().Int64Value());
    if (o.Has("labelSecrets")) ReadLabelSecretPolicy(o.Get("labelSecrets"), &config.http_limits.secrets);
    if (config.threads < 1 || config.threads > 64) throw Napi::RangeError::New(env, "threads must be 1..64");
    // The doorbell runs the JS callback through napi_make_callback (an object receiver and an
    // async context): a plain call from a threadsafe function runs no process.nextTick queue
    // and no microtasks afterwards, and streams that finish writes on nextTick (the tap's
    // gRPC stream) then stall until some other callback happens to run them.
    auto* target = new DoorbellTarget{Napi::Persistent(Napi::Object::New(env)), Napi::AsyncContext(env, "meshtap-native-doorbell")};
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "meshtap-native-doorbell", 0, 1,
                                          [target](Napi::Env) { delete target; });
    engine_ = std::make_unique<Engine>(config);
    std::string err;
    Napi::ThreadSafeFunction* tsfn = &tsfn_;
    auto ring = [target](Napi::Env env, Napi::Function fn) {
      if (env == nullptr || fn.IsEmpty()) return;
      try {
        fn.MakeCallback(target->receiver.Value(), {}, target->context);
      } catch (const Napi::Error&) {
        // An exception in the JS handler is Node's to report (uncaught), never the workers'.
      }
    };
    if (!engine_->Start([tsfn, ring] { tsfn->NonBlockingCall(ring); }, &err)) {
      engine_.reset();
      tsfn_.Release();
      is_closed_ = true;
      throw Napi::Error::New(env, "native engine: " + err);
    }
  }

  ~NativeEngine() override { Shutdown(); }

 private:
  // Stops the workers (their last records stay for a final drain()) and drops the doorbell.
  void Shutdown() {
    if (!engine_ || is_closed_) return;
    is_closed_ = true;
    engine_->Stop();  // joins the workers: no doorbell after this
    tsfn_.Release();
  }

  Engine& Live(Napi::Env env) {
    if (!engine_ || is_closed_) throw Napi::Error::New(env, "native engine is closed");
    return *engine_;
  }

  // listen({kind, proxy, host, port, targetHost, targetPort, dst, localAddress?, appHost}) -> 'addr:port'
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Engine& engine = Live(env);
    Napi::Object o = info[0].As<Napi::Object>();
    const std::string kind = o.Get("kind").As<Napi::String>().Utf8Value();
    ListenerSpec spec;
    spec.kind = kind == "inbound" ? ListenerKind::kInbound : kind == "outbound" ? ListenerKind::kOutbound : ListenerKind::kForward;
    spec.inbound = o.Get("proxy").As<Napi::String>().Utf8Value() == "in";
    sockaddr_storage at{};
    const std::string host = o.Get("host").As<Napi::String>().Utf8Value();
    if (!ParseAddr(host, static_cast<uint16_t>(o.Get("port").As<Napi::Number>().Uint32Value()), &at)) {
      throw Napi::Error::New(env, "listen: not a numeric address: " + host);
    }
    if (spec.kind == ListenerKind::kForward) {
      const std::string th = o.Get("targetHost").As<Napi::String>().Utf8Value();
      if (!ParseAddr(th, static_cast<uint16_t>(o.Get("targetPort").As<Napi::Number>().Uint32Value()), &spec.target)) {
        throw Napi::Error::New(env, "listen: target is not a numeric address: " + th);
      }
      spec.dst_text = o.Get("dst").As<Napi::String>().Utf8Value();
      if (o.Has("localAddress") && o.Get("localAddress").IsString()) {
        const std::string la = o.Get("localAddress").As<Napi::String>().Utf8Value();
        if (!ParseAddr(la, 0, &spec.source)) throw Napi::Error::New(env, "listen: localAddress is not a numeric address: " + la);
      }
    } else if (spec.kind == ListenerKind::kInbound) {
      const std::string app = o.Has("appHost") ? o.Get("appHost").As<Napi::String>().Utf8Value() : "127.0.0.1";
      if (!ParseAddr(app, 0, &spec.app)) throw Napi::Error::New(env, "listen: appHost is not a numeric address: " + app);
    }
    std::string err;
    std::string address = engine.Listen(spec, at, &err);
    if (address.empty()) {
      Napi::Error e = Napi::Error::New(env, "listen " + err);
      e.Set("code", Napi::String::New(env, err));
      throw e;
    }
    return Napi::String::New(env, address);
  }

  // The pending records (one Buffer owned by JS from now on), or undefined.
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) return env.Undefined();
    EventRing& ring = engine_->shared().ring;
    ring.bell_pending.store(false, std::memory_order_release);  // before Take: see EngineShared::MaybeRing
    size_t len = 0;
    uint8_t* data = ring.Take(&len);
    if (data == nullptr) return env.Undefined();
    return Napi::Buffer<uint8_t>::New(env, data, len, [](Napi::Env, uint8_t* p) { free(p); });
  }

  Napi::Value Unobserve(const Napi::CallbackInfo& info) {
    if (engine_ && !is_closed_) engine_->Unobserve(info[0].As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  }

  // Whether exchanges starting from now send their body bytes (up to bodyLimit) to JS.
  Napi::Value SetWantBodies(const Napi::CallbackInfo& info) {
    if (engine_) engine_->shared().want_bodies.store(info[0].ToBoolean().Value(), std::memory_order_relaxed);
    return info.Env().Undefined();
  }

  Napi::Value TcpStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!engine_) return out;
    uint32_t i = 0;
    for (const auto& s : engine_->shared().tcp.Snapshot()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("direction", s.direction);
      o.Set("peer", s.peer);
      o.Set("target", s.target);
      o.Set("opened", static_cast<double>(s.opened));
      o.Set("closed", static_cast<double>(s.closed));
      o.Set("closedWithError", static_cast<double>(s.closed_with_error));
      o.Set("open", static_cast<double>(s.open));
      o.Set("readBytes", static_cast<double>(s.read_bytes));
      o.Set("writeBytes", static_cast<double>(s.write_bytes));
      out.Set(i++, o);
    }
    return out;
  }

  // [[key, count], …]: see EventCounters.
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!engine_) return out;
    uint32_t i = 0;
    auto pairs = engine_->shared().counters.Snapshot();
    // The poll bound as the engine holds it (--busy-poll-us), so /metrics shows what runs.
    pairs.emplace_back("busypoll\tmax-ns", engine_->shared().config.busy_poll_max_ns);
    for (const auto& [key, n] : pairs) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, key));
      pair.Set(1u, Napi::Number::New(env, static_cast<double>(n)));
      out.Set(i++, pair);
    }
    return out;
  }

  // HTTP metrics of exchanges observed in C++ (read when /metrics is scraped).
  Napi::Value HttpMetrics(const Napi::CallbackInfo& info) {
    if (!engine_) return info.Env().Undefined();
    return HttpMetricsToJs(info.Env(), engine_->shared().http);
  }

  // recorderQuery(sinceEndNs) -> Buffer: the recorder's dictionary and records (core/recorder-ring.h).
  Napi::Value RecorderQuery(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) return env.Undefined();
    const double since = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
    std::string out = engine_->shared().recorder.Query(since > 0 ? static_cast<uint64_t>(since) : 0);
    return Napi::Buffer<char>::Copy(env, out.data(), out.size());
  }

  Napi::Value RecorderStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    meshtap::RecorderStats s = engine_ ? engine_->shared().recorder.Stats() : meshtap::RecorderStats();
    o.Set("bytes", static_cast<double>(s.bytes));
    o.Set("count", static_cast<double>(s.count));
    o.Set("evicted", static_cast<double>(s.evicted));
    o.Set("oldestEndNs", static_cast<double>(s.oldest_end_ns));
    return o;
  }

  // Whether a tap subscriber is attached: exchanges observed in C++ reach JS only then.
  Napi::Value SetTapped(const Napi::CallbackInfo& info) {
    if (engine_) engine_->shared().tapped.store(info[0].ToBoolean().Value(), std::memory_order_relaxed);
    return info.Env().Undefined();
  }

  // Whether every tap subscriber is attached but not reading: exchanges starting now are counted, not sent.
  Napi::Value SetShedding(const Napi::CallbackInfo& info) {
    if (engine_) engine_->shared().shedding.store(info[0].ToBoolean().Value(), std::memory_order_relaxed);
    return info.Env().Undefined();
  }

  // Events of shed exchanges since the engine started.
  Napi::Value ShedEvents(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), engine_ ? static_cast<double>(engine_->shared().shed_events.load(std::memory_order_relaxed)) : 0);
  }

  // setTapGate(rps) -> gated: the tap gate's rate (0: off; core/tap-gate.h), and the exchanges it
  // gated before this call, exactly (JS splits the count between the old and the new subscribers there).
  // setTapJson(policy | null): HTTP/2 streams going to JS from now on carry their events' JSON
  // (core/tap-event-json.h) while a policy is set.
  Napi::Value SetTapJson(const Napi::CallbackInfo& info) {
    auto p = ReadTapJsonPolicy(info[0]);
    if (engine_) engine_->shared().SetTapJson(std::move(p));
    return info.Env().Undefined();
  }

  Napi::Value SetTapGate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const double rps = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
    if (!engine_) return Napi::Number::New(env, 0);
    return Napi::Number::New(env, static_cast<double>(engine_->shared().tap_gate.Configure(rps)));
  }

  // Exchanges the tap gate kept from JS since the engine started.
  Napi::Value TapGated(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), engine_ ? static_cast<double>(engine_->shared().tap_gate.gated()) : 0);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  std::unique_ptr<Engine> engine_;
  Napi::ThreadSafeFunction tsfn_;
  bool is_closed_ = false;
};

}  // namespace

void InitEngine(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeEngine", NativeEngine::Define(env));
#ifdef MESHTAP_FAULT_INJECTION
  // A test build (scripts/native-sanitize.sh): core/worker.cc can be told to fail on purpose.
  exports.Set("faultInjection", Napi::Boolean::New(env, true));
#endif
}

}  // namespace meshtap
