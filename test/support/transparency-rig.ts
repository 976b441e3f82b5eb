/**
 * The transparency rig: a real `meshtap proxy` process between a client and an upstream, with
 * its tap stream collected, for the suites that check bytes both ways and the events they make.
 *
 * Engines plug in here: the sidecar runs on `engine` when given (`--engine`), else on what
 * MESHTAP_ENGINE says (the vitest `native` project sets it for the suites it reruns), else js.
 * A suite comparing engines side by side uses `describe.each(ENGINES)` (support/engines.ts).
 */
import type { Engine } from './engines.js';
import { startSidecarProcess, type SidecarProcess } from './meshtap-process.js';
import { connectRaw, startScriptedServer, type RecordedSocket, type ScriptedServer } from './raw-socket.js';
import { openTapCollector, type TapCollector } from './tap-collector.js';
import { startTee, type Tee } from './tee.js';

export interface SidecarUnderTest {
  /** `ip:port` the sidecar forwards to (what events show as `dst`). */
  target: string;
  sidecar: SidecarProcess;
  tap: TapCollector;
}

/** Starts the sidecar forwarding to `targetPort`, with admin and tap ports and its tap collected. */
export async function startSidecarUnderTest(targetPort: number, extraArgs: string[] = [], engine?: Engine): Promise<SidecarUnderTest> {
  const target = `127.0.0.1:${targetPort}`;
  const args = ['--forward', `127.0.0.1:0=${target}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', ...extraArgs];
  const sidecar = await startSidecarProcess(engine ? [...args, '--engine', engine] : args);
  const tap = await openTapCollector(sidecar.tap!).catch(async (err: unknown) => {
    await sidecar.stop();
    throw err;
  });
  return { target, sidecar, tap };
}

/** Raw bytes: a scripted server as upstream; `pair()` is a client and the server's side of that connection. */
export interface RawRig extends SidecarUnderTest {
  server: ScriptedServer;
  pair(): Promise<{ client: RecordedSocket; upstream: RecordedSocket }>;
  close(): Promise<void>;
}

export async function startRawRig(extraArgs: string[] = [], engine?: Engine): Promise<RawRig> {
  const server = await startScriptedServer();
  const under = await startSidecarUnderTest(server.port, extraArgs, engine).catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  return {
    ...under,
    server,
    async pair() {
      const next = server.connections.length;
      const client = await connectRaw(under.sidecar.forwards[0]!.port);
      return { client, upstream: await server.connection(next) };
    },
    async close() {
      under.tap.close();
      await under.sidecar.stop();
      await server.close();
    },
  };
}

/** Real clients and servers, with a byte-recording tee on each side of the sidecar. */
export interface TeeRig extends SidecarUnderTest {
  /** Between the sidecar and the origin: what the server received and sent. */
  serverTee: Tee;
  /** Between the client and the sidecar: what the client sent and received (clients connect here). */
  clientTee: Tee;
  close(): Promise<void>;
}

export async function startTeeRig(originPort: number, extraArgs: string[] = [], engine?: Engine): Promise<TeeRig> {
  const serverTee = await startTee(originPort, { keepBytes: false });
  const under = await startSidecarUnderTest(serverTee.port, extraArgs, engine);
  const clientTee = await startTee(under.sidecar.forwards[0]!.port, { keepBytes: false });
  return {
    ...under,
    serverTee,
    clientTee,
    async close() {
      under.tap.close();
      await clientTee.close();
      await under.sidecar.stop();
      await serverTee.close();
    },
  };
}
