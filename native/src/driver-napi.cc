// SPDX-License-Identifier: Apache-2.0
// DriverHarness: one connection's ObservationDriver (core/detect-driver.h: detection, the C++
// HTTP/1 and HTTP/2 observers, their record, metrics and recorder sinks) fed bytes from JS as a
// worker feeds it, without sockets and with the caller's clock; the records it wrote are read back
// as the engine's JS face reads them. For tests that hold the records (and the tap events made
// from them) to the js engine's, byte for byte.
//
// new DriverHarness({connId, inbound, src, dst, bodyLimit}): setTapped(on), setWantBodies(on),
// setTapJson(policy | null), data(fromClient, buffer, nowNs), end(fromClient, nowNs),
// close(nowNs), drain() -> Buffer | undefined.
#include <memory>

#include "addon.h"
#include "core/connection.h"
#include "core/detect-driver.h"
#include "core/engine-shared.h"
#include "metrics-napi.h"

namespace meshtap {
namespace {

uint64_t U64(Napi::Value v) { return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()) : 0; }

std::string Latin1(Napi::Value v) {
  if (!v.IsString()) return "";
  size_t len = 0;
  napi_get_value_string_latin1(v.Env(), v, nullptr, 0, &len);
  std::string out(len + 1, '\0');
  napi_get_value_string_latin1(v.Env(), v, out.data(), out.size(), &len);
  out.resize(len);
  return out;
}

class DriverHarness : public Napi::ObjectWrap<DriverHarness> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DriverHarness",
                       {InstanceMethod("setTapped", &DriverHarness::SetTapped), InstanceMethod("setWantBodies", &DriverHarness::SetWantBodies),
                        InstanceMethod("setTapJson", &DriverHarness::SetTapJson), InstanceMethod("data", &DriverHarness::Data),
                        InstanceMethod("end", &DriverHarness::End), InstanceMethod("close", &DriverHarness::Close),
                        InstanceMethod("drain", &DriverHarness::Drain)});
  }

  explicit DriverHarness(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DriverHarness>(info) {
    Napi::Object o = info[0].As<Napi::Object>();
    EngineConfig config;
    if (o.Has("bodyLimit")) config.body_limit = U64(o.Get("bodyLimit"));
    config.ring_bytes = 4 * 1024 * 1024;
    shared_ = std::make_unique<EngineShared>(config);
    conn_.id = static_cast<uint32_t>(U64(o.Get("connId")));
    conn_.inbound = o.Get("inbound").ToBoolean().Value();
    conn_.is_observed = true;
    driver_ = std::make_unique<ObservationDriver>(shared_.get(), &conn_, Latin1(o.Get("src")) + "\n" + Latin1(o.Get("dst")));
  }

 private:
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
  Napi::Value Data(const Napi::CallbackInfo& info) {
    Napi::Buffer<uint8_t> b = info[1].As<Napi::Buffer<uint8_t>>();
    if (b.Length() > 0) driver_->Data(info[0].ToBoolean().Value(), b.Data(), b.Length(), U64(info[2]));
    return info.Env().Undefined();
  }
  Napi::Value End(const Napi::CallbackInfo& info) {
    driver_->End(info[0].ToBoolean().Value(), U64(info[1]));
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    driver_->Close(kAbortNone, U64(info[0]));
    return info.Env().Undefined();
  }
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    size_t len = 0;
    uint8_t* batch = shared_->ring.Take(&len);
    if (batch == nullptr) return info.Env().Undefined();
    return Napi::Buffer<uint8_t>::New(info.Env(), batch, len, [](Napi::Env, uint8_t* p) { free(p); });
  }

  std::unique_ptr<EngineShared> shared_;
  Conn conn_;
  std::unique_ptr<ObservationDriver> driver_;
};

}  // namespace

void InitDriverHarness(Napi::Env env, Napi::Object exports) { exports.Set("DriverHarness", DriverHarness::Define(env)); }

}  // namespace meshtap
