// SPDX-License-Identifier: Apache-2.0
// The original destination of an accepted, intercepted socket, as a plain C++ helper usable
// from any thread (the epoll workers ask it per accepted outbound connection; the JS-thread
// getOriginalDst export wraps it).
#pragma once

#include <sys/socket.h>

namespace meshtap {

enum class OriginalDstResult { kFound, kNone, kError };

// One getsockopt(SO_ORIGINAL_DST): SOL_IPV6 first (meshtap's BPF program answers it for every
// entry), then SOL_IP on IPv4 sockets (netfilter). kError leaves errno in *err.
OriginalDstResult LookupOriginalDst(int fd, sockaddr_storage* out, int* err);

}  // namespace meshtap
