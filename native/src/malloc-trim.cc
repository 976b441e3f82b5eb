// SPDX-License-Identifier: Apache-2.0
// mallocTrim(): glibc's malloc_trim(0), for the native sidecar once a tap with bodies left garbage
// behind (bin/young-generation.ts). After V8 collected the Buffers of delivered bodies, their memory
// is free in glibc's arenas but stays resident where it is not at an arena's top (64 KiB chunks
// between live ones); malloc_trim gives those pages back to the kernel (MADV_DONTNEED), so the
// process's anonymous memory, and its cgroup's charge, go down. Returns whether any was released.
#include <malloc.h>

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
}  // namespace

void InitMallocTrim(Napi::Env env, Napi::Object exports) { exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim, "mallocTrim")); }

}  // namespace meshtap
