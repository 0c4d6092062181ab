#!/usr/bin/env bash
# CI gate for the dashboard: type-check, unit tests, and a reproducibility
# check that the committed dist is exactly what the sources build to.
# Usage: dashboard/check.sh   (from anywhere; needs Node >= 20.19 and npm)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/web"

echo "dashboard: npm ci"
npm ci --no-audit --no-fund

echo "dashboard: type-check"
npx vue-tsc --noEmit

echo "dashboard: unit tests"
npx vitest run

echo "dashboard: rebuild and compare with the committed dist"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
npx vite build --logLevel warn --outDir "$fresh" --emptyOutDir
if ! diff -r "$fresh" "$here/dist"; then
  echo "dashboard: committed dist/ is stale; run dashboard/build.sh and commit dashboard/dist" >&2
  exit 1
fi
echo "dashboard: dist is up to date ($(du -sk "$here/dist" | cut -f1) KiB)"
