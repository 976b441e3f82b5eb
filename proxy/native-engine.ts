/**
 * The native engine's data path (`--engine native`): listeners, accept, connect and
 * forwarding live in C++ epoll workers (native/), and so do protocol detection and the HTTP/1
 * observer; this file starts them, resolves names first (C++ takes numeric addresses only), and
 * hands their records to native-observation.ts, which reports to the same exchange sink the js
 * engine uses (`engine.ts` is the contract), so events, metrics and counts are the same.
 */
import { lookup } from 'node:dns/promises';
import { createLogger } from '../common/index.js';
import { isIP } from 'node:net';
import { startNativeEngine, type NativeEngine } from '../native/index.js';
import type { ListenerInfo, ListenerSpec, RunningEngine } from './engine.js';
import type { ObservationServices } from './exchange-events.js';
import { createNativeObservation } from './native-observation.js';
import { createNativeFlightRecorder } from './native-recorder.js';
import type { ObservationOptions } from './observation-driver.js';
import { formatAddr } from './sockets.js';

export interface NativeDataPathOptions {
  threads: number;
  /** `false` = forwarding only (`--observe none`). */
  observe: boolean;
  /** As the js forwarder's (`ForwarderOptions.idleTimeoutMs`); swept per worker in C++. */
  idleTimeoutMs: number;
  /** The C++ flight recorder's byte bound (`--recorder-bytes`; the js recorder keeps HTTP/2 with its own). */
  recorderBytes: number;
  /** The longest a worker busy-polls before it blocks, µs (`--busy-poll-us`; unset: the engine's default). */
  busyPollUs?: number;
}

async function numeric(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return (await lookup(host)).address;
}

/** Starts the C++ workers on `specs` (an outbound spec's `lookup` is not used: C++ asks BPF itself). */
export async function startNativeDataPath(
  specs: readonly ListenerSpec[],
  o: NativeDataPathOptions,
  services: ObservationServices,
  observation: ObservationOptions,
): Promise<RunningEngine> {
  const { metrics } = services;
  let engine: NativeEngine | undefined;
  const observed = createNativeObservation(services, observation, (id) => engine?.unobserve(id));
  engine = startNativeEngine(
    {
      threads: o.threads,
      observe: o.observe,
      idleTimeoutMs: o.idleTimeoutMs,
      detectTimeoutMs: observation.detectTimeoutMs,
      bodyLimit: services.bodyLimit,
      maxHeaderBytes: observation.limits.maxHeaderBytes,
      maxStreams: observation.limits.maxStreams,
      recorderBytes: o.recorderBytes,
      recorderBodies: services.recorderBodies,
      // Metric labels hide what the tap hides (metric-labels.ts): C++ makes them with the same lists.
      labelSecrets: metrics.labelSecrets,
      ...(o.busyPollUs !== undefined ? { busyPollUs: o.busyPollUs } : {}),
      // A trace line per connection needs every connection's records (otherwise none untapped).
      announceConnections: createLogger('detect').isTracing,
    },
    { ...observed, connectError: (proxy, code) => metrics.upstreamConnectError(proxy, code), boundHit: (bound) => metrics.boundHit(bound) },
  );
  // Everything from here may throw (a listen that fails, an addon older than this code): the
  // started workers must then be stopped, or their thread keeps the process alive (`meshtap demo`
  // hung on "engine.tapGated is not a function" with a stale addon).
  const listeners: ListenerInfo[] = [];
  let recorder: ReturnType<typeof createNativeFlightRecorder>;
  try {
    // C++ decides at each request head whether the exchange crosses to JS at all (only while
    // someone taps: metrics and the recorder of HTTP/1 are C++'s), and with its body bytes while a
    // tap wants bodies, and with --recorder-bodies always (oracle12): the js engine shows every tap
    // the `end` event scrubbed of its captured body's secret field values (a password echoed in the
    // path), which JS can do only with the body, and C++'s JSON text of it is plain only if its
    // body is (tap-event-json.h). Keep both current.
    const updateBodies = () => engine?.setWantBodies(services.hub.wantsBodies || services.recorderBodies);
    updateBodies();
    services.hub.onWantsBodiesChange(updateBodies);
    const updateTapped = () => engine?.setTapped(services.hub.count > 0);
    updateTapped();
    services.hub.onCountChange(updateTapped);
    // Subscribers attached and none reading (every queue full): C++ sends no new exchange and counts
    // what it would have sent, which the hub tells as their loss (tap-hub.ts setShedSource).
    const updateShedding = () => engine?.setShedding(services.hub.count > 0 && !services.hub.hasSubscribers);
    services.hub.onReadingChange(updateShedding);
    services.hub.onCountChange(updateShedding);
    const shedding = engine;
    services.hub.setShedSource(() => shedding.shedEvents());
    // Every subscriber rate-limited and unfiltered: C++ keeps back, at the request head, what their
    // buckets would drop (tap-hub.ts recomputeGate); the hub tells that count as their rate-limit loss.
    services.hub.setTapGate({ set: (rps) => shedding.setTapGate(rps), read: () => shedding.tapGated() });
    // Every subscriber takes every event (the firehose: `record`, a tap with no filter and no rate
    // limit): C++ writes HTTP/2 streams' plain events as JSON, which the hub queues as they are
    // (native/src/core/tap-event-json.h, tap-hub.ts publishText). Not under a body rule C++ does
    // not follow (JSON paths, content-type lists, --body-over-limit drop).
    const textPolicy = services.hub.textPolicy;
    const canText = textPolicy.isSupported && (services.captureContentTypes ?? []).length === 0 && services.bodyOverLimit !== 'drop';
    let isText = false;
    const updateText = () => {
      const on = canText && services.hub.takesEveryEvent;
      if (on === isText) return;
      isText = on;
      engine?.setTapJson(on ? textPolicy : undefined);
    };
    services.hub.onCountChange(updateText);
    metrics.setTapDroppedSync(() => services.hub.countShed());
    // Read at scrape (and after close, the last totals).
    const counted = engine;
    metrics.setTcpSource(() => counted.tcpStats());
    metrics.setEventCountSource(() => ({ ...counted.counters(), recorderEvicted: counted.recorderStats().evicted }));
    metrics.setHttpSource(() => counted.httpMetrics());
    recorder = createNativeFlightRecorder(services.recorder, () => engine, services);

    for (const spec of specs) {
      const host = await numeric(spec.listen.host);
      const port = spec.listen.port;
      if (spec.kind === 'forward') {
        const target = formatAddr(spec.target.host, spec.target.port);
        const localAddress = spec.target.localAddress !== undefined ? { localAddress: await numeric(spec.target.localAddress) } : {};
        const address = engine.listen({ kind: 'forward', proxy: spec.proxy, host, port, targetHost: await numeric(spec.target.host), targetPort: spec.target.port, dst: target, ...localAddress });
        listeners.push({ kind: 'forward', proxy: spec.proxy, address, target });
      } else if (spec.kind === 'inbound') {
        const address = engine.listen({ kind: 'inbound', proxy: 'in', host, port, appHost: await numeric(spec.target.host) });
        listeners.push({ kind: 'inbound', proxy: 'in', address });
      } else {
        const address = engine.listen({ kind: 'outbound', proxy: 'out', host, port });
        listeners.push({ kind: 'outbound', proxy: 'out', address });
      }
    }
  } catch (err) {
    engine.close();
    throw err;
  }
  return {
    listeners,
    recorder,
    flush: () => engine?.flush(),
    close() {
      const e = engine;
      engine = undefined;
      e?.close();
      observed.closeAll();
    },
  };
}
