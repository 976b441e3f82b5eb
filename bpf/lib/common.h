/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types and helpers shared by every meshtap BPF program. Addresses are kept in one
 * canonical 16-byte form (IPv4 as v4-mapped ::ffff:a.b.c.d) so that a v4 socket, a
 * dual-stack v6 socket reaching IPv4 and the sidecar's accepted socket build equal keys.
 * Every struct used as a map key has explicit padding: implicit padding is not zeroed
 * and lookups would silently miss.
 */
#pragma once

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MT_AF_INET 2
#define MT_AF_INET6 10
#define MT_SOCK_STREAM 1
#define MT_SOL_IP 0
#define MT_SOL_IPV6 41
#define MT_SO_ORIGINAL_DST 80
#define MT_PAGE_SIZE 4096

/* mt_config.flags */
#define MT_F_OUTBOUND 1u          /* redirect outbound connects */
#define MT_F_INBOUND 2u           /* steer inbound connections (sk_lookup) */
#define MT_F_SKIP_UID 4u          /* never redirect connects made by sidecar_uid */
#define MT_F_INTERCEPT_LOOPBACK 8u /* also redirect connects to 127/8 and ::1 */

/* mt_skip_port / mt_skip_cidr value bits */
#define MT_SKIP_OUT 1u
#define MT_SKIP_IN 2u

/* mt_stats indexes (kept in step with bpf/maps.ts) */
enum mt_stat {
	MT_STAT_REDIRECTED = 0,
	MT_STAT_SKIPPED = 1,
	MT_STAT_ORIG_STORE_FAILED = 2,
	MT_STAT_SOCKOPT_HIT = 3,
	MT_STAT_SOCKOPT_MISS = 4,
	MT_STAT_INBOUND_STEERED = 5,
	MT_STAT_INBOUND_NO_LISTENER = 6,
	MT_STAT_COUNT = 8,
};

/* Read-mostly settings of one scope (a pod or a `meshtap run`); written by the loader. */
struct mt_config {
	__u32 flags;
	__u32 sidecar_uid;
	__u16 outbound_port; /* host order; the sidecar's outbound listener on loopback */
	__u16 inbound_port;  /* sidecar's inbound listener: never steered */
	__u16 admin_port;    /* never intercepted */
	__u16 tap_port;      /* never intercepted */
};

/* The original destination of an intercepted connection. */
struct mt_orig {
	__u32 ip[4];  /* canonical (v4-mapped for IPv4), network order */
	__u16 port;   /* host order */
	__u16 family; /* 4 or 6: what the application asked for */
};

/* {netns cookie, 4-tuple} from the application's side: local = the application. */
struct mt_tuple_key {
	__u64 netns;
	__u32 local_ip[4];
	__u32 remote_ip[4];
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u32 pad;
};

struct mt_cidr_key {
	__u32 prefixlen; /* over the canonical 128-bit address (v4: 96 + prefix) */
	__u32 ip[4];
};

static __always_inline void mt_v4_to_canon(__u32 ip4, __u32 out[4])
{
	out[0] = 0;
	out[1] = 0;
	out[2] = bpf_htonl(0xffff);
	out[3] = ip4;
}

static __always_inline int mt_is_v4_mapped(const __u32 ip[4])
{
	return ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff);
}

/* 127/8, ::1, 0.0.0.0 and :: all mean "this host". */
static __always_inline int mt_is_local_canon(const __u32 ip[4])
{
	if (mt_is_v4_mapped(ip))
		return (bpf_ntohl(ip[3]) >> 24) == 127 || ip[3] == 0;
	return ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && (ip[3] == bpf_htonl(1) || ip[3] == 0);
}
