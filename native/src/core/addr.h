// SPDX-License-Identifier: Apache-2.0
// Socket addresses as the js engine prints them (proxy/sockets.ts formatAddr): `a.b.c.d:p`,
// `[v6]:p`, v4-mapped IPv6 shown as IPv4, so both engines label events and metrics alike.
#pragma once

#include <string>
#include <sys/socket.h>

namespace meshtap {

std::string FormatAddr(const sockaddr_storage& ss);
uint16_t PortOf(const sockaddr_storage& ss);
void SetPort(sockaddr_storage* ss, uint16_t port);
socklen_t AddrLen(const sockaddr_storage& ss);
// Parses a numeric IPv4/IPv6 address (no names: JS resolves them first).
bool ParseAddr(const std::string& host, uint16_t port, sockaddr_storage* out);

}  // namespace meshtap
