#!/usr/bin/env bash
# Rebuilds dashboard/dist (embedded by the Go package) from dashboard/web.
# Usage: dashboard/build.sh   (from anywhere; needs Node >= 20.19 and npm)
set -euo pipefail
cd "$(dirname "$0")/web"
npm ci --no-audit --no-fund
npm run build
