/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maps shared by the programs of one scope. Each program is its own object file; they
 * share these maps because every map is pinned by name under the scope's pin directory
 * (libbpf reuses an existing pin), which also keeps state across loader restarts.
 * Every map is bounded; the original-destination maps are LRU so that a missed close
 * can never fill them.
 */
#pragma once

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mt_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct mt_orig);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mt_orig_cookie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mt_tuple_key);
	__type(value, struct mt_orig);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mt_orig_tuple SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mt_skip_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mt_cidr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mt_skip_cidr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MT_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mt_stats SEC(".maps");

static __always_inline const struct mt_config *mt_config_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&mt_config, &zero);
}

static __always_inline void mt_count(enum mt_stat stat)
{
	__u32 key = stat;
	__u64 *v = bpf_map_lookup_elem(&mt_stats, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int mt_is_sidecar_port(const struct mt_config *cfg, __u16 port)
{
	return port == cfg->outbound_port || port == cfg->inbound_port || port == cfg->admin_port ||
	       port == cfg->tap_port;
}

/* Whether the skip lists exclude this address/port for `dir` (MT_SKIP_OUT / MT_SKIP_IN). */
static __always_inline int mt_is_skipped(const __u32 ip[4], __u16 port, __u32 dir)
{
	__u32 pkey = port;
	__u32 *bits = bpf_map_lookup_elem(&mt_skip_port, &pkey);
	if (bits && (*bits & dir))
		return 1;
	struct mt_cidr_key ckey = { .prefixlen = 128 };
	ckey.ip[0] = ip[0];
	ckey.ip[1] = ip[1];
	ckey.ip[2] = ip[2];
	ckey.ip[3] = ip[3];
	bits = bpf_map_lookup_elem(&mt_skip_cidr, &ckey);
	return bits && (*bits & dir);
}

/* Whether the current task is the sidecar (loop prevention). */
static __always_inline int mt_is_sidecar_task(const struct mt_config *cfg)
{
	if (!(cfg->flags & MT_F_SKIP_UID))
		return 0;
	return (__u32)bpf_get_current_uid_gid() == cfg->sidecar_uid;
}

/* Stores the original destination by socket cookie; 0 on success. */
static __always_inline int mt_store_orig(__u64 cookie, const __u32 ip[4], __u16 port, __u16 family)
{
	struct mt_orig orig = { .port = port, .family = family };
	orig.ip[0] = ip[0];
	orig.ip[1] = ip[1];
	orig.ip[2] = ip[2];
	orig.ip[3] = ip[3];
	if (bpf_map_update_elem(&mt_orig_cookie, &cookie, &orig, BPF_ANY)) {
		mt_count(MT_STAT_ORIG_STORE_FAILED);
		return -1;
	}
	return 0;
}

/*
 * Loads one bpf_sock field at a constant offset. Plain C lets clang compute `sk + off`
 * once and load relative to it, and the verifier forbids arithmetic on socket pointers.
 */
#define MT_SK_LOAD32(sk, field)                                                              \
	({                                                                                   \
		__u32 __v;                                                                   \
		asm volatile("%0 = *(u32 *)(%1 + %2)"                                        \
			     : "=r"(__v)                                                     \
			     : "r"(sk), "i"(__builtin_offsetof(struct bpf_sock, field)));    \
		__v;                                                                         \
	})
#define MT_SK_LOAD16(sk, field)                                                              \
	({                                                                                   \
		__u32 __v;                                                                   \
		asm volatile("%0 = *(u16 *)(%1 + %2)"                                        \
			     : "=r"(__v)                                                     \
			     : "r"(sk), "i"(__builtin_offsetof(struct bpf_sock, field)));    \
		(__u16)__v;                                                                  \
	})

/* Fills a tuple key from a bpf_sock seen from the application's side, or mirrored
 * (the sidecar's accepted socket: its peer is the application). */
static __always_inline void mt_key_from_sock(struct mt_tuple_key *key, __u64 netns, struct bpf_sock *sk,
					     int mirrored)
{
	__u32 src[4], dst[4];
	if (MT_SK_LOAD32(sk, family) == MT_AF_INET) {
		mt_v4_to_canon(MT_SK_LOAD32(sk, src_ip4), src);
		mt_v4_to_canon(MT_SK_LOAD32(sk, dst_ip4), dst);
	} else {
		src[0] = MT_SK_LOAD32(sk, src_ip6[0]);
		src[1] = MT_SK_LOAD32(sk, src_ip6[1]);
		src[2] = MT_SK_LOAD32(sk, src_ip6[2]);
		src[3] = MT_SK_LOAD32(sk, src_ip6[3]);
		dst[0] = MT_SK_LOAD32(sk, dst_ip6[0]);
		dst[1] = MT_SK_LOAD32(sk, dst_ip6[1]);
		dst[2] = MT_SK_LOAD32(sk, dst_ip6[2]);
		dst[3] = MT_SK_LOAD32(sk, dst_ip6[3]);
	}
	__u16 sport = (__u16)MT_SK_LOAD32(sk, src_port);
	__u16 dport = bpf_ntohs(MT_SK_LOAD16(sk, dst_port));
	key->netns = netns;
	key->pad = 0;
	if (!mirrored) {
		__builtin_memcpy(key->local_ip, src, sizeof(src));
		__builtin_memcpy(key->remote_ip, dst, sizeof(dst));
		key->local_port = sport;
		key->remote_port = dport;
	} else {
		__builtin_memcpy(key->local_ip, dst, sizeof(dst));
		__builtin_memcpy(key->remote_ip, src, sizeof(src));
		key->local_port = dport;
		key->remote_port = sport;
	}
}
