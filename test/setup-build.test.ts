/**
 * scripts/build-ts.sh (the TypeScript step of scripts/setup.sh, which `npm run demo` and `npm test`
 * run first). Regression (issue 11, habits): set-up rebuilt everything every time (a minute or more
 * of tsc on a busy machine) even when nothing changed. It now skips the build when the sources hash
 * to the stamp of the last successful build, and builds again when any source changed.
 *
 * Runs on a copy of this checkout (its files, its dist/ and a link to its node_modules), never on
 * the checkout itself, which other tests are reading.
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const copy = mkdtempSync(join(tmpdir(), 'mt-setup-build-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

/** Runs the copy's build script; resolves with its stderr. */
async function buildTs(): Promise<string> {
  const r = await run('bash', [join(copy, 'scripts', 'build-ts.sh')], { cwd: copy, maxBuffer: 16 << 20 });
  return r.stderr;
}

describe('set-up skips the TypeScript build when nothing changed', () => {
  it('skips with an unchanged tree, builds after a source changed, and then skips again', async () => {
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) {
      if (!existsSync(join(ROOT, f))) continue; // deleted in the working tree
      mkdirSync(dirname(join(copy, f)), { recursive: true });
      cpSync(join(ROOT, f), join(copy, f), { preserveTimestamps: true });
    }
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true, preserveTimestamps: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const entry = join(copy, 'dist', 'bin', 'meshtap.js');
    // The checkout's dist/ may predate its sources (edited, then built with tsc alone): the first
    // run builds in that case, or skips; either way the copy is then built and stamped.
    await buildTs();
    const builtAt = statSync(entry).mtimeMs;

    expect(await buildTs()).toMatch(/TypeScript build is up to date/);
    expect(statSync(entry).mtimeMs).toBe(builtAt);

    // A changed source (a new constant in the entry point) is built, and the stamp follows it.
    const stampBefore = readFileSync(join(copy, 'dist', '.build-stamp'), 'utf8');
    appendFileSync(join(copy, 'bin', 'meshtap.ts'), '\nexport const SETUP_BUILD_TEST_MARK = 1;\n');
    expect(await buildTs()).toMatch(/building TypeScript/);
    expect(readFileSync(entry, 'utf8')).toContain('SETUP_BUILD_TEST_MARK');
    expect(readFileSync(join(copy, 'dist', '.build-stamp'), 'utf8')).not.toBe(stampBefore);

    expect(await buildTs()).toMatch(/TypeScript build is up to date/);
  }, 600_000);
});
