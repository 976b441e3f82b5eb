/**
 * A real setting for the dashboard's browser tests: the demo mesh (web → emoji, voting, each
 * behind its own sidecar) registered with a real local tap API, dashboards acting as the demo's
 * admin and viewer users, and Debian's Chromium driven by playwright-core. Screenshots go to
 * test-output/dashboard/ (MESHTAP_TEST_OUTPUT overrides).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type LaunchOptions, type Page } from 'playwright-core';
import { startDashboardServer, type DashboardServer } from '../dashboard/index.js';
import { startDemoControlPlane, startDemoMesh, type DemoControlPlane, type DemoMesh } from '../demo/index.js';
import type { TapEvent } from '../tap-protocol/index.js';
import { until } from './support/until.js';
import { PROJECT_ENGINE } from './support/engines.js';

export const CHROMIUM = '/usr/bin/chromium';
const BUNDLE = fileURLToPath(new URL('../dist/dashboard/ui/app.js', import.meta.url));

/** Why the browser tests cannot run here, or undefined. */
export function browserSkipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (Debian package chromium; scripts/setup.sh installs it)`;
  if (!existsSync(BUNDLE)) return `the dashboard page is not built (${BUNDLE}); run npm run build`;
  return undefined;
}

/** Where screenshots go. */
export function outputDir(): string {
  const dir = process.env.MESHTAP_TEST_OUTPUT ? join(process.env.MESHTAP_TEST_OUTPUT, 'dashboard') : fileURLToPath(new URL('../test-output/dashboard/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function launchChromium(extra: LaunchOptions = {}): Promise<Browser> {
  // --no-sandbox: the tests run as root (CI), where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...(extra.args ?? [])], ...extra });
}

export interface DashboardRig {
  cp: DemoControlPlane;
  mesh: DemoMesh;
  admin: DashboardServer;
  viewer: DashboardServer;
  close(): Promise<void>;
}

export async function startDashboardRig(o: { rps?: number } = {}): Promise<DashboardRig> {
  const dir = await mkdtemp(join(tmpdir(), 'meshtap-dash-test-'));
  const cp = await startDemoControlPlane(dir);
  const mesh = await startDemoMesh({ rps: o.rps ?? 10, tapApi: cp.tapApi.url, tapApiToken: cp.registrationToken, engine: PROJECT_ENGINE });
  await until('the demo\'s three sidecars registered', () => cp.tapApi.registry.list('emojivoto').length >= 3, 5_000);
  const start = (token: string) =>
    startDashboardServer({ connection: { tapApi: { url: cp.tapApi.url, token } }, namespaces: ['emojivoto'], port: 0, version: 'test', statWindowMs: 2000 });
  const admin = await start(cp.adminToken);
  const viewer = await start(cp.viewerToken);
  return {
    cp,
    mesh,
    admin,
    viewer,
    async close() {
      await admin.close();
      await viewer.close();
      await mesh.close();
      await cp.tapApi.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A dashboard server with no tap API behind it and a page whose tap stream is `events`, answered by
 * the test (page.route), so they arrive in a known order; page errors are collected in `pageErrors`.
 */
export async function startScriptedDashboard(): Promise<{ dashboard: DashboardServer; browser: Browser; pageErrors: string[]; open(events: readonly TapEvent[]): Promise<Page>; close(): Promise<void> }> {
  const dashboard = await startDashboardServer({ connection: { tapApi: { url: 'http://127.0.0.1:9', token: 'unused' } }, namespaces: ['demo'], port: 0, version: 'test' });
  const browser = await launchChromium();
  const pageErrors: string[] = [];
  return {
    dashboard,
    browser,
    pageErrors,
    async open(events) {
      const page = await (await browser.newContext({ viewport: { width: 1440, height: 860 } })).newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.route('**/api/tap?**', (route) =>
        route.fulfill({
          status: 200,
          contentType: 'application/x-ndjson',
          body: [{ type: 'bodies', allowed: false }, ...events.map((event) => ({ type: 'event', event })), { type: 'end', message: 'the stream ended' }].map((l) => `${JSON.stringify(l)}\n`).join(''),
        }),
      );
      await page.goto(dashboard.url);
      return page;
    },
    async close() {
      await browser.close();
      await dashboard.close();
    },
  };
}
