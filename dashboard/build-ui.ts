/**
 * Builds the dashboard page at `npm run build`: esbuild bundles dashboard/ui (TypeScript + Preact,
 * ELK for the service map) into one script and one stylesheet under dist/dashboard/ui, next to a
 * static index.html. Everything the page needs ships in those files: clusters are often offline,
 * and a page that fetched from a CDN would leak who looks at what.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'dashboard', 'ui');
const out = join(root, 'dist', 'dashboard', 'ui');

await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(src, 'main.tsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['chrome115', 'firefox115'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // elkjs' bundled build probes for a worker implementation with require(); the browser has none.
  external: ['web-worker'],
  define: { 'process.env.NODE_ENV': '"production"' },
});
await build({ entryPoints: [join(src, 'styles.css')], outfile: join(out, 'app.css'), bundle: true, minify: true, logLevel: 'warning' });
await copyFile(join(src, 'index.html'), join(out, 'index.html'));
process.stderr.write(`dashboard: page built into ${out}\n`);
