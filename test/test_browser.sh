#!/bin/bash
# Browser tests: test/browser/run.js drives Debian's Chromium with
# playwright-core over the viewer and Leaflet / OpenLayers / MapLibre pages; it
# starts `bootstrap serve` and a page server on 127.0.0.1 itself. TAP-style.
set -u
if ! command -v node >/dev/null || ! [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "not ok 1 - node and chromium are needed (make deps-test installs them)"
  exit 1
fi
if ! [ -d test/browser/node_modules/playwright-core ]; then
  echo "not ok 1 - test/browser/node_modules missing (make test runs npm ci there)"
  exit 1
fi
BOOTSTRAP=${BOOTSTRAP:-./bootstrap} exec timeout 600 node test/browser/run.js
