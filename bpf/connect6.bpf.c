// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cgroup/connect6: the IPv6 twin of connect4, including dual-stack sockets that reach
 * IPv4 through v4-mapped addresses (they never pass connect4). The connect is rewritten
 * to ::ffff:127.0.0.1 (the sidecar's IPv4 loopback listener), so a plain IPv6
 * destination also lands there; an IPV6_V6ONLY socket to a real IPv6 peer would then
 * fail, which is why such sockets are rare enough to accept (documented in bpf/README).
 */
#include "lib/connect.h"

/* Keeps clang from merging two adjacent 4-byte context stores into one 8-byte store,
 * which the verifier rejects. */
#define MT_STORE_BARRIER() asm volatile("" ::: "memory")

SEC("cgroup/connect6")
int mt_connect6(struct bpf_sock_addr *ctx)
{
	const struct mt_config *cfg = mt_outbound_candidate(ctx);
	if (!cfg)
		return 1;

	__u32 ip[4];
	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	if (mt_outbound_skipped(cfg, ip, port))
		return 1;
	if (mt_store_orig(bpf_get_socket_cookie(ctx), ip, port, mt_is_v4_mapped(ip) ? 4 : 6))
		return 1;
	ctx->user_ip6[0] = 0;
	MT_STORE_BARRIER();
	ctx->user_ip6[1] = 0;
	MT_STORE_BARRIER();
	ctx->user_ip6[2] = bpf_htonl(0xffff);
	MT_STORE_BARRIER();
	ctx->user_ip6[3] = bpf_htonl(0x7f000001);
	MT_STORE_BARRIER();
	ctx->user_port = bpf_htons(cfg->outbound_port);
	mt_count(MT_STAT_REDIRECTED);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
