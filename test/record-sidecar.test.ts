/**
 * The true round trips, through a real sidecar and the real CLI: traffic (HTTP/1, h2, gRPC of
 * all four kinds) goes through `meshtap proxy`'s engine; `meshtap record --proxy` writes it;
 * `meshtap replay` against the same services matches all, against a changed build exactly the
 * changed exchanges mismatch; `meshtap mock` serves the recording so a replay against it
 * matches 100%. Crash safety: a SIGKILLed recorder leaves no output file and a readable
 * partial one; a SIGINTed recorder finishes its file.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { PROJECT_ENGINE } from './support/engines.js';
import { readRecording } from '../record/index.js';
import { captureAll, captureH1 } from './fixtures/record/capture.js';
import { CHANGED_IN_V2, startServices, type Services } from './fixtures/record/services.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/bin/meshtap.js');

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function run(args: string[], opts: { kill?: (child: ChildProcess, stderr: () => string) => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c));
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c;
      opts.kill?.(child, () => stderr);
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
const children = new Set<ChildProcess>();

const hostPort = (url: string): { host: string; port: number } => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

/** Where each service is reached through the sidecar. */
function throughSidecar(sidecar: Sidecar, s: Services): Services {
  const at = (target: string) => `http://${sidecar.listeners.find((l) => l.target === new URL(target).host)!.address}`;
  return { h1: at(s.h1), h2: at(s.h2), grpc: at(s.grpc), close: async () => undefined };
}

const SELECT: Record<keyof Omit<Services, 'close'>, string[]> = {
  h1: ['--path-regex', '^/(api|trailers|missing)'],
  h2: ['--path', '/h2/'],
  grpc: ['--path', '/demo.Emoji/'],
};

describe('record, replay and mock through a real sidecar', () => {
  let v1: Services;
  let v2: Services;
  let sidecar: Sidecar;
  let via: Services;
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/bin/cmd-record.js'))) {
      try {
        execFileSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'ignore' });
      } catch {
        // tsc emits despite type errors elsewhere in the tree
      }
    }
    dir = await mkdtemp(join(tmpdir(), 'meshtap-sidecar-rec-'));
    v1 = await startServices('v1');
    v2 = await startServices('v2');
    sidecar = await startSidecar({
      forwards: [v1.h1, v1.h2, v1.grpc].map((t) => ({ proxy: 'in' as const, listen: { host: '127.0.0.1', port: 0 }, target: hostPort(t) })),
      tap: { host: '127.0.0.1', port: 0 },
      identity: { workload: 'deploy/demo', namespace: 'test', pod: 'demo-1' },
      recorderBodies: true,
      engine: PROJECT_ENGINE,
    });
    via = throughSidecar(sidecar, v1);
  }, 120_000);

  afterEach(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  afterAll(async () => {
    await sidecar?.close();
    await v1?.close();
    await v2?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('records the history, replays it against the same and a changed build, and against the mock', async () => {
    const sent = await captureAll(via);
    const file = join(dir, 'all.jsonl.gz');
    const rec = await run(['record', '--proxy', sidecar.tapAddress!, '--since', '1h', '-o', file]);
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stderr).toMatch(new RegExp(`recorded ${sent.length} exchanges.*stopped \\(history-end\\)`));
    const recording = await readRecording(file);
    expect(recording.issues).toEqual([]);
    expect(recording.exchanges.map((e) => `${e.protocol} ${e.method} ${e.path}`).sort()).toEqual(sent.map((e) => `${e.protocol} ${e.method} ${e.path}`).sort());
    const chat = recording.exchanges.find((e) => e.path === '/demo.Emoji/Chat')!;
    expect(chat.requestMessages?.map((f) => Buffer.from(f.data, 'base64').toString())).toEqual(['a', 'b']);

    for (const key of ['h1', 'h2', 'grpc'] as const) {
      const same = await run(['replay', file, '--target', v1[key], '--speed', 'max', ...SELECT[key]]);
      expect(same.code, same.stdout + same.stderr).toBe(0);
      expect(same.stdout).toMatch(/ 0 mismatched, 0 failed/);
    }
    const mismatched: string[] = [];
    for (const key of ['h1', 'h2', 'grpc'] as const) {
      const changed = await run(['replay', file, '--target', v2[key], '--speed', 'max', ...SELECT[key], '--report', join(dir, `${key}.xml`)]);
      mismatched.push(...[...changed.stdout.matchAll(/^MISMATCH \S+ (\S+) (\S+)/gm)].map((m) => `${m[1]} ${m[2]!.split('?')[0]}`));
      expect(changed.stdout).not.toMatch(/FAILED/);
      expect(changed.code).toBe(1);
    }
    expect(mismatched.sort()).toEqual([...CHANGED_IN_V2].sort());

    let mockAddress = '';
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    const mock = run(['mock', file, '--listen', '127.0.0.1:0'], {
      kill: (_c, err) => {
        const m = /listening (\S+)/.exec(err());
        if (m && !mockAddress) {
          mockAddress = m[1]!;
          markReady();
        }
      },
    });
    await ready;
    const all = await run(['replay', file, '--target', `http://${mockAddress}`, '--speed', 'max', '-o', 'json']);
    expect(all.code, all.stdout).toBe(0);
    expect(JSON.parse(all.stdout).summary).toMatchObject({ total: sent.length, matched: sent.length, mismatched: 0, failed: 0 });
    for (const c of children) c.kill('SIGTERM');
    expect((await mock).stderr).toMatch(new RegExp(`served ${sent.length}, unmatched 0`));
  });

  it('a SIGKILLed recorder leaves no output and a partial file readable up to its last full line', async () => {
    const file = join(dir, 'killed.jsonl');
    let traffic = true;
    let killedAfter = 0;
    const killed = run(['record', '--proxy', sidecar.tapAddress!, '-o', file], {
      kill: (child, err) => {
        if (!/recording to/.test(err()) || killedAfter) return;
        killedAfter = 1;
        void (async () => {
          const partial = join(dir, `.killed.jsonl.partial-${child.pid}`);
          // Traffic until at least 3 exchanges were flushed to the partial file, then kill.
          for (let i = 0; traffic && i < 2000; i++) {
            await captureH1(via.h1, 'POST', '/api/echo', { 'content-type': 'text/plain' }, `n=${i}`);
            if (i % 5 === 4 && (await readRecording(partial).then((r) => r.exchanges.length, () => 0)) >= 3) break;
          }
          child.kill('SIGKILL');
        })();
      },
    });
    const result = await killed;
    traffic = false;
    expect(result.signal).toBe('SIGKILL');
    expect(existsSync(file)).toBe(false);
    const partials = (await readdir(dir)).filter((n) => n.startsWith('.killed.jsonl.partial-'));
    expect(partials).toHaveLength(1);
    const rec = await readRecording(join(dir, partials[0]!));
    expect(rec.exchanges.length).toBeGreaterThanOrEqual(3);
    for (const ex of rec.exchanges) expect(ex.path).toBe('/api/echo');
    expect(rec.issues.every((i) => i.kind === 'truncated-last-line')).toBe(true);
  });

  it('Ctrl-C finishes the file; an existing file is not clobbered without --force', async () => {
    const file = join(dir, 'stopped.jsonl');
    await writeFile(file, 'keep me\n');
    const refused = await run(['record', '--proxy', sidecar.tapAddress!, '-o', file, '--limit', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exists; choose another file or pass --force/);
    let sentOne = false;
    const stopped = await run(['record', '--proxy', sidecar.tapAddress!, '-o', file, '--force'], {
      kill: (child, err) => {
        if (sentOne || !/recording to/.test(err())) return;
        sentOne = true;
        void (async () => {
          const partial = join(dir, `.stopped.jsonl.partial-${child.pid}`);
          for (let i = 0; i < 2000; i++) {
            await captureH1(via.h1, 'GET', '/api/items');
            if ((await readRecording(partial).then((r) => r.exchanges.length, () => 0)) >= 1) break;
          }
          child.kill('SIGINT');
        })();
      },
    });
    expect(stopped.code, stopped.stderr).toBe(130); // Ctrl-C: interrupted, the file finished (test/bound12-cli-interrupt.test.ts)
    expect(stopped.stderr).toMatch(/stopped at your request \(Ctrl-C\)/);
    const rec = await readRecording(file);
    expect(rec.exchanges.length).toBeGreaterThanOrEqual(1);
    expect(rec.issues).toEqual([]);
  });
});
