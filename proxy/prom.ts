/**
 * The three prom-client classes the sidecar uses, each loaded from its own file. prom-client's
 * index also loads its default process metrics (which pull in @opentelemetry/api), Summary
 * (tdigest), Pushgateway and the cluster aggregator, none of which a sidecar uses: importing the
 * index costs a fresh Node process 10.7 MB of RSS, these three files 1.1 MB (issue 13, RSS under
 * load ≤ 60 MB). prom-client 15 has no `exports` map, so these paths are public; the registry
 * is the same module instance the index would give (one require cache).
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
