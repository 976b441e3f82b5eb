// SPDX-License-Identifier: Apache-2.0
// mallocTrim(): glibc's malloc_trim(0), for the native sidecar once a tap with bodies left garbage
// behind (bin/young-generation.ts). After V8 collected the Buffers of delivered bodies, their memory
// is free in glibc's arenas but stays resident where it is not at an arena's top (64 KiB chunks
// between live ones); malloc_trim gives those pages back to the kernel (MADV_DONTNEED), so the
// process's anonymous memory, and its cgroup's charge, go down. Returns whether any was released.
//
// lowMemoryNotification(): V8's Isolate::LowMemoryNotification, for the native sidecar once it has
// started and once its last tap left: full collections that also shrink the young generation back
// to its smallest size and hand V8's pooled pages back to the kernel, which V8's own memory
// reducer does only ~8-25 s after the last allocation burst (measured: a started sidecar's RssAnon
// 12.9 -> 10.0 MB at ~23 s by itself; at once with this call, 40 ms of the JS thread, which carries
// no traffic in the native engine). Node-API has no such call; the addon is built against the node
// it runs in (node-gyp --nodedir), whose v8.h this is.
#include <malloc.h>
#include <v8.h>

#include "addon.h"

namespace meshtap {

namespace {
Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}
Napi::Value LowMemoryNotification(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  return info.Env().Undefined();
}
}  // namespace

void InitMallocTrim(Napi::Env env, Napi::Object exports) {
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim, "mallocTrim"));
  exports.Set("lowMemoryNotification", Napi::Function::New(env, LowMemoryNotification, "lowMemoryNotification"));
}

}  // namespace meshtap
