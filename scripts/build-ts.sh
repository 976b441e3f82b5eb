#!/usr/bin/env bash
# The TypeScript build (type errors fail it) and the dashboard page (esbuild bundle), as
# scripts/setup.sh runs them. Skipped when the sources are those of the last successful build:
# dist/.build-stamp holds a hash of every file under the built folders plus the build's config and
# lock files. A clean clone has no dist/, so it always builds; `rm dist/.build-stamp` forces a build.
set -euo pipefail
cd "$(dirname "$0")/.."

STAMP=dist/.build-stamp
source_hash() {
  {
    find bin common demo proxy native bpf injector webhook tap-api tap-protocol record dashboard bench \
      \( -path native/build -o -path native/gen -o -path bench/results \) -prune -o -type f -print0
    printf '%s\0' tsconfig.json package.json package-lock.json
  } | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

hash="$(source_hash)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$hash" ] && [ -f dist/bin/meshtap.js ] && [ -f dist/dashboard/ui/app.js ]; then
  echo "setup: TypeScript build is up to date (no source changed since the last build)" >&2
  exit 0
fi
echo "setup: building TypeScript" >&2
rm -f "$STAMP"
npx tsc -p .
npx tsc -p dashboard/ui
node dist/dashboard/build-ui.js
echo "$hash" > "$STAMP"
