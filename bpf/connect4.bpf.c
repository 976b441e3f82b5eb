// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cgroup/connect4: rewrites an application's TCP connect() to the sidecar's outbound
 * listener on 127.0.0.1 and remembers the original destination by socket cookie.
 * Lets the connect through untouched whenever in doubt (sidecar's own uid, loopback,
 * sidecar ports, skip lists, a full map): interception must never break a connect.
 */
#include "lib/connect.h"

SEC("cgroup/connect4")
int mt_connect4(struct bpf_sock_addr *ctx)
{
	const struct mt_config *cfg = mt_outbound_candidate(ctx);
	if (!cfg)
		return 1;

	__u32 ip[4];
	mt_v4_to_canon(ctx->user_ip4, ip);
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	if (mt_outbound_skipped(cfg, ip, port))
		return 1;
	if (mt_store_orig(bpf_get_socket_cookie(ctx), ip, port, 4))
		return 1;
	ctx->user_ip4 = bpf_htonl(0x7f000001);
	ctx->user_port = bpf_htons(cfg->outbound_port);
	mt_count(MT_STAT_REDIRECTED);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
