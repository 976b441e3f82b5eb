// SPDX-License-Identifier: Apache-2.0
#include "original-dst.h"

#include <cerrno>
#include <netinet/in.h>

namespace meshtap {
namespace {

constexpr int kSoOriginalDst = 80;  // SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST

bool IsNoEntry(int err) { return err == ENOENT || err == ENOPROTOOPT || err == EOPNOTSUPP; }

}  // namespace

OriginalDstResult LookupOriginalDst(int fd, sockaddr_storage* out, int* err) {
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    *err = errno;
    return OriginalDstResult::kError;
  }
  *out = {};
  len = sizeof(sockaddr_in6);
  errno = 0;
  if (getsockopt(fd, SOL_IPV6, kSoOriginalDst, out, &len) == 0 && out->ss_family == AF_INET6) return OriginalDstResult::kFound;
  if (errno != 0 && !IsNoEntry(errno)) {
    *err = errno;
    return OriginalDstResult::kError;
  }
  if (local.ss_family != AF_INET) return OriginalDstResult::kNone;
  *out = {};
  len = sizeof(sockaddr_in);
  errno = 0;
  if (getsockopt(fd, SOL_IP, kSoOriginalDst, out, &len) == 0 && out->ss_family == AF_INET) return OriginalDstResult::kFound;
  if (errno == 0 || IsNoEntry(errno)) return OriginalDstResult::kNone;
  *err = errno;
  return OriginalDstResult::kError;
}

}  // namespace meshtap
