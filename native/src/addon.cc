// SPDX-License-Identifier: Apache-2.0
// Entry point of the meshtap native addon (loaded lazily by native/index.ts).
#include "addon.h"

#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstring>

namespace meshtap {

namespace {
constexpr size_t kMaxLogBytes = 16 * 1024;
std::string g_log;

int OnLibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[8192];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  if (n > 0) g_log.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
  if (g_log.size() > kMaxLogBytes) g_log.erase(0, g_log.size() - kMaxLogBytes);
  return 0;
}
}  // namespace

void CaptureLibbpfLog() {
  g_log.clear();
  libbpf_set_print(OnLibbpfPrint);
}

std::string TakeLibbpfLog() {
  std::string out;
  out.swap(g_log);
  return out;
}

void ThrowErrno(Napi::Env env, const std::string& what, int err, const std::string& detail) {
  std::string msg = what + ": " + strerror(err);
  if (!detail.empty()) msg += " (" + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, what));
  throw e;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  CaptureLibbpfLog();
  InitOriginalDst(env, exports);
  InitBpfLoader(env, exports);
  InitBpfMaps(env, exports);
  InitBpfProbe(env, exports);
  InitEngine(env, exports);
  InitMetrics(env, exports);
  InitMallocTrim(env, exports);
  return exports;
}

}  // namespace meshtap

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return meshtap::Init(env, exports); }

NODE_API_MODULE(meshtap_native, InitAddon)
