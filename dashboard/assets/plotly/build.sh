#!/bin/sh
# Rebuilds plotly-charts.min.js: plotly.js core (scatter) with only the trace types the
# overview draws (bar, funnel, heatmap), as one ES module. Needs node and npm; run it
# when the chart code starts using another trace type or plotly.js is to be updated.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent plotly.js@3.7.0 esbuild@0.28.2
cp "$here/charts-entry.js" entry.js
node_modules/.bin/esbuild entry.js --bundle --minify --format=esm --define:global=globalThis \
  --log-level=warning \
  --outfile="$here/plotly-charts.min.js"
rm -f "$here/plotly-charts.min.css"
