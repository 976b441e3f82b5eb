// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cgroup/getpeername6: the IPv6 twin of getpeername4 (v4-mapped peers included).
 */
#include "lib/maps.h"

#define MT_STORE_BARRIER() asm volatile("" ::: "memory")

SEC("cgroup/getpeername6")
int mt_getpeername6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct mt_tuple_key key;
	mt_key_from_sock(&key, bpf_get_netns_cookie(ctx), sk, 0);
	struct mt_orig *orig = bpf_map_lookup_elem(&mt_orig_tuple, &key);
	if (!orig)
		return 1;
	__u32 ip0 = orig->ip[0], ip1 = orig->ip[1], ip2 = orig->ip[2], ip3 = orig->ip[3];
	ctx->user_ip6[0] = ip0;
	MT_STORE_BARRIER();
	ctx->user_ip6[1] = ip1;
	MT_STORE_BARRIER();
	ctx->user_ip6[2] = ip2;
	MT_STORE_BARRIER();
	ctx->user_ip6[3] = ip3;
	MT_STORE_BARRIER();
	ctx->user_port = bpf_htons(orig->port);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
