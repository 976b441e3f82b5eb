// SPDX-License-Identifier: Apache-2.0
// getOriginalDst(fd): one getsockopt(SO_ORIGINAL_DST) on an accepted socket. Answered by
// meshtap's cgroup/getsockopt BPF program (or by netfilter after an iptables REDIRECT),
// so the unprivileged sidecar learns where the application meant to connect.
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addon.h"
#include "core/original-dst.h"

namespace meshtap {
namespace {

Napi::Value Describe(Napi::Env env, const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = {0};
  Napi::Object out = Napi::Object::New(env);
  if (ss.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
    out.Set("address", text);
    out.Set("port", ntohs(sin->sin_port));
    out.Set("family", 4);
    return out;
  }
  auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
    inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], text, sizeof text);
    out.Set("family", 4);
  } else {
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
    out.Set("family", 6);
  }
  out.Set("address", text);
  out.Set("port", ntohs(sin6->sin6_port));
  return out;
}

Napi::Value GetOriginalDst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "getOriginalDst(fd: number)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  sockaddr_storage orig{};
  int err = 0;
  switch (LookupOriginalDst(fd, &orig, &err)) {
    case OriginalDstResult::kFound:
      return Describe(env, orig);
    case OriginalDstResult::kNone:
      return env.Undefined();
    case OriginalDstResult::kError:
      break;
  }
  ThrowErrno(env, "getsockopt(SO_ORIGINAL_DST)", err);
}

}  // namespace

void InitOriginalDst(Napi::Env env, Napi::Object exports) {
  exports.Set("getOriginalDst", Napi::Function::New(env, GetOriginalDst, "getOriginalDst"));
}

}  // namespace meshtap
