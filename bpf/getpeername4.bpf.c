// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cgroup/getpeername4: an application whose connect was redirected sees its real peer
 * (the original destination), not the sidecar's loopback listener.
 */
#include "lib/maps.h"

SEC("cgroup/getpeername4")
int mt_getpeername4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct mt_tuple_key key;
	mt_key_from_sock(&key, bpf_get_netns_cookie(ctx), sk, 0);
	struct mt_orig *orig = bpf_map_lookup_elem(&mt_orig_tuple, &key);
	if (!orig || !mt_is_v4_mapped(orig->ip))
		return 1;
	ctx->user_ip4 = orig->ip[3];
	ctx->user_port = bpf_htons(orig->port);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
