// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cgroup/getsockopt: answers SO_ORIGINAL_DST (SOL_IP 80 with a sockaddr_in, SOL_IPV6 80
 * with a sockaddr_in6) on the sidecar's accepted socket, as netfilter would after a
 * REDIRECT, so the sidecar needs one getsockopt and no privileges. Must be attached to
 * a cgroup covering the sidecar: an accepted socket belongs to its listener's cgroup.
 * Every other option passes through untouched.
 */
#include "lib/maps.h"

SEC("cgroup/getsockopt")
int mt_getsockopt(struct bpf_sockopt *ctx)
{
	if (ctx->optname != MT_SO_ORIGINAL_DST || (ctx->level != MT_SOL_IP && ctx->level != MT_SOL_IPV6))
		goto pass;
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		goto pass;
	struct mt_tuple_key key;
	mt_key_from_sock(&key, bpf_get_netns_cookie(ctx), sk, 1);
	struct mt_orig *orig = bpf_map_lookup_elem(&mt_orig_tuple, &key);
	if (!orig) {
		mt_count(MT_STAT_SOCKOPT_MISS);
		goto pass;
	}
	__u8 *buf = ctx->optval;
	if (ctx->level == MT_SOL_IP) {
		if (buf + 16 > (__u8 *)ctx->optval_end || !mt_is_v4_mapped(orig->ip))
			goto pass;
		__builtin_memset(buf, 0, 16);
		*(__u16 *)buf = MT_AF_INET;
		*(__u16 *)(buf + 2) = bpf_htons(orig->port);
		*(__u32 *)(buf + 4) = orig->ip[3];
		ctx->optlen = 16;
	} else {
		if (buf + 28 > (__u8 *)ctx->optval_end)
			goto pass;
		__builtin_memset(buf, 0, 28);
		*(__u16 *)buf = MT_AF_INET6;
		*(__u16 *)(buf + 2) = bpf_htons(orig->port);
		__builtin_memcpy(buf + 8, orig->ip, 16);
		ctx->optlen = 28;
	}
	ctx->retval = 0;
	mt_count(MT_STAT_SOCKOPT_HIT);
	return 1;
pass:
	/* Larger buffers than a page are not ours to inspect: hand back the kernel's answer. */
	if (ctx->optlen > MT_PAGE_SIZE)
		ctx->optlen = 0;
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
