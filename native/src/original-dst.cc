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

namespace meshtap {
namespace {

constexpr int kSoOriginalDst = 80;  // SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST

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

bool IsNoEntry(int err) { return err == ENOENT || err == ENOPROTOOPT || err == EOPNOTSUPP; }

Napi::Value GetOriginalDst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "getOriginalDst(fd: number)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  errno = 0;
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) ThrowErrno(env, "getsockname", errno);

  // SOL_IPV6 first, whatever the socket's family: meshtap's BPF program answers it for
  // every entry (an IPv6 original destination cannot fit the IPv4 answer), so in BPF
  // mode this is the one syscall. Netfilter answers only SOL_IP on IPv4 sockets.
  sockaddr_storage orig{};
  len = sizeof(sockaddr_in6);
  if (getsockopt(fd, SOL_IPV6, kSoOriginalDst, &orig, &len) == 0 && orig.ss_family == AF_INET6) return Describe(env, orig);
  if (errno != 0 && !IsNoEntry(errno)) ThrowErrno(env, "getsockopt(SOL_IPV6, SO_ORIGINAL_DST)", errno);
  if (local.ss_family != AF_INET) return env.Undefined();
  orig = {};
  len = sizeof(sockaddr_in);
  errno = 0;
  if (getsockopt(fd, SOL_IP, kSoOriginalDst, &orig, &len) == 0 && orig.ss_family == AF_INET) return Describe(env, orig);
  if (IsNoEntry(errno) || errno == 0) return env.Undefined();
  ThrowErrno(env, "getsockopt(SOL_IP, SO_ORIGINAL_DST)", errno);
}

}  // namespace

void InitOriginalDst(Napi::Env env, Napi::Object exports) {
  exports.Set("getOriginalDst", Napi::Function::New(env, GetOriginalDst, "getOriginalDst"));
}

}  // namespace meshtap
