// SPDX-License-Identifier: Apache-2.0
// Shared declarations of the meshtap native addon: each source file registers its own
// exports; errors thrown to JS carry `errno` and `syscall` so native/index.ts can map
// them to MeshtapError codes.
#pragma once

#include <napi.h>
#include <string>

namespace meshtap {

void InitOriginalDst(Napi::Env env, Napi::Object exports);
void InitBpfLoader(Napi::Env env, Napi::Object exports);
void InitBpfMaps(Napi::Env env, Napi::Object exports);
void InitBpfProbe(Napi::Env env, Napi::Object exports);
void InitEngine(Napi::Env env, Napi::Object exports);
void InitMetrics(Napi::Env env, Napi::Object exports);
void InitMallocTrim(Napi::Env env, Napi::Object exports);

// Throws a JS Error "<what>: <strerror(err)>" with .errno = err and .syscall = what.
[[noreturn]] void ThrowErrno(Napi::Env env, const std::string& what, int err, const std::string& detail = "");

// Installs a libbpf print callback that keeps the most recent warnings (verifier logs)
// so that a failed load can say why.
void CaptureLibbpfLog();
std::string TakeLibbpfLog();

}  // namespace meshtap
