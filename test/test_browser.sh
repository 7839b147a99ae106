#!/bin/bash
# Browser tests: test/browser/run.js drives Debian's Chromium with
# playwright-core over the viewer and Leaflet / OpenLayers / MapLibre pages; it
# starts `bootstrap serve` and a page server on 127.0.0.1 itself. TAP lines:
# run.js prints its own, and its plan at the end; test/lib/tap.sh here.
set -u
. test/lib/tap.sh
if ! command -v node >/dev/null || ! [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  stop "node and chromium are needed (make deps-test installs them)"
fi
if ! [ -d test/browser/node_modules/playwright-core ]; then
  stop "test/browser/node_modules missing (make test runs npm ci there)"
fi
BOOTSTRAP=${BOOTSTRAP:-./bootstrap} exec timeout 600 node test/browser/run.js
