// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sk_lookup (per network namespace): hands every new TCP connection to one of the pod's
 * own addresses to the sidecar's inbound listener, held in a SOCKMAP. No NAT and no
 * packet rewriting: getsockname() on the accepted socket is the original destination.
 * Loopback destinations (the sidecar reaching the application), the sidecar's own ports
 * and skip-listed ports pass through to the normal lookup.
 */
#include "lib/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mt_inbound_sock SEC(".maps");

SEC("sk_lookup")
int mt_sk_lookup(struct bpf_sk_lookup *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return SK_PASS;
	const struct mt_config *cfg = mt_config_get();
	if (!cfg || !(cfg->flags & MT_F_INBOUND))
		return SK_PASS;

	__u32 local[4], remote[4];
	if (ctx->family == MT_AF_INET) {
		mt_v4_to_canon(ctx->local_ip4, local);
		mt_v4_to_canon(ctx->remote_ip4, remote);
	} else {
		local[0] = ctx->local_ip6[0];
		local[1] = ctx->local_ip6[1];
		local[2] = ctx->local_ip6[2];
		local[3] = ctx->local_ip6[3];
		remote[0] = ctx->remote_ip6[0];
		remote[1] = ctx->remote_ip6[1];
		remote[2] = ctx->remote_ip6[2];
		remote[3] = ctx->remote_ip6[3];
	}
	__u16 port = (__u16)ctx->local_port;
	if (mt_is_local_canon(local) || mt_is_sidecar_port(cfg, port) || mt_is_skipped(remote, port, MT_SKIP_IN))
		return SK_PASS;
	__u32 zero = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&mt_inbound_sock, &zero);
	if (!sk) {
		mt_count(MT_STAT_INBOUND_NO_LISTENER);
		return SK_PASS;
	}
	if (bpf_sk_assign(ctx, sk, 0) == 0)
		mt_count(MT_STAT_INBOUND_STEERED);
	bpf_sk_release(sk);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
