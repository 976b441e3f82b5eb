// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The decision connect4 and connect6 share: is this a TCP connect the sidecar should take,
 * and where was it going? Both let the connect through untouched whenever in doubt.
 */
#ifndef MESHTAP_CONNECT_H
#define MESHTAP_CONNECT_H

#include "maps.h"

/* The config when this connect is a candidate for redirection (TCP, outbound interception on,
 * not the sidecar itself); NULL to let it through. */
static __always_inline const struct mt_config *mt_outbound_candidate(const struct bpf_sock_addr *ctx)
{
	if (ctx->type != MT_SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return NULL;
	const struct mt_config *cfg = mt_config_get();
	if (!cfg || !(cfg->flags & MT_F_OUTBOUND) || !cfg->outbound_port)
		return NULL;
	if (mt_is_sidecar_task(cfg))
		return NULL;
	return cfg;
}

/* Whether a candidate connect to ip:port stays untouched (loopback, the sidecar's own ports,
 * skip lists); counted as skipped. */
static __always_inline int mt_outbound_skipped(const struct mt_config *cfg, const __u32 ip[4], __u16 port)
{
	if ((!(cfg->flags & MT_F_INTERCEPT_LOOPBACK) && mt_is_local_canon(ip)) || mt_is_sidecar_port(cfg, port) ||
	    mt_is_skipped(ip, port, MT_SKIP_OUT)) {
		mt_count(MT_STAT_SKIPPED);
		return 1;
	}
	return 0;
}

#endif
