// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sockops: once a redirected socket has its source port (TCP_CONNECT_CB, just before
 * the SYN leaves), moves its original destination from the cookie key to a
 * {netns cookie, 4-tuple} key, which the sidecar's accepted socket can rebuild from
 * its own side; asks for state callbacks and deletes the entry when the socket closes,
 * so the map holds only live connections.
 */
#include "lib/maps.h"

#define MT_TCP_CLOSE 7 /* BPF_TCP_CLOSE */

static __always_inline void mt_key_from_ops(struct mt_tuple_key *key, struct bpf_sock_ops *skops)
{
	__u32 rip6[4];
	rip6[0] = skops->remote_ip6[0];
	rip6[1] = skops->remote_ip6[1];
	rip6[2] = skops->remote_ip6[2];
	rip6[3] = skops->remote_ip6[3];
	key->netns = bpf_get_netns_cookie(skops);
	key->pad = 0;
	key->local_port = (__u16)skops->local_port;
	key->remote_port = (__u16)bpf_ntohl(skops->remote_port);
	/* A dual-stack socket reaching IPv4 may not have its v6 source set yet at
	 * TCP_CONNECT_CB: its IPv4 fields are always right. */
	if (skops->family == MT_AF_INET || mt_is_v4_mapped(rip6)) {
		mt_v4_to_canon(skops->local_ip4, key->local_ip);
		mt_v4_to_canon(skops->remote_ip4, key->remote_ip);
	} else {
		key->local_ip[0] = skops->local_ip6[0];
		key->local_ip[1] = skops->local_ip6[1];
		key->local_ip[2] = skops->local_ip6[2];
		key->local_ip[3] = skops->local_ip6[3];
		__builtin_memcpy(key->remote_ip, rip6, sizeof(rip6));
	}
}

SEC("sockops")
int mt_sockops(struct bpf_sock_ops *skops)
{
	struct mt_tuple_key key;
	__u64 cookie;
	struct mt_orig *orig;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		cookie = bpf_get_socket_cookie(skops);
		orig = bpf_map_lookup_elem(&mt_orig_cookie, &cookie);
		if (!orig)
			return 1;
		mt_key_from_ops(&key, skops);
		if (bpf_map_update_elem(&mt_orig_tuple, &key, orig, BPF_ANY))
			mt_count(MT_STAT_ORIG_STORE_FAILED);
		bpf_map_delete_elem(&mt_orig_cookie, &cookie);
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != MT_TCP_CLOSE)
			return 1;
		mt_key_from_ops(&key, skops);
		bpf_map_delete_elem(&mt_orig_tuple, &key);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
