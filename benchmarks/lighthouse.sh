#!/usr/bin/env bash
# Lighthouse (mobile preset, simulated throttling) on every page of a built site.
#   benchmarks/lighthouse.sh /tmp/site-prev [outdir]
# Needs `npm install lighthouse@12.2.3` somewhere (LIGHTHOUSE=path/to/node_modules/.bin/lighthouse)
# and Debian's Chromium; Node 20 is enough. Not a test: scores depend on the machine.
set -euo pipefail
site=${1:?usage: lighthouse.sh SITE [OUTDIR]}
out=${2:-benchmarks/results/lighthouse}
lighthouse=${LIGHTHOUSE:-node_modules/.bin/lighthouse}
port=8765
mkdir -p "$out"
python3 "$(dirname "$0")/serve.py" "$site" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server"' EXIT
sleep 1
for page in "" reverse/ step-counts/ forward-backward/ similar-noise-patch/ similar-noise-mix/; do
  name=${page%/}; name=${name:-index}
  CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium} "$lighthouse" "http://127.0.0.1:$port/$page" --quiet \
    --only-categories=performance,accessibility,best-practices \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" --output=json --output-path="$out/$name.json"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); a=d['audits']; print(sys.argv[2], {k: round(v['score']*100) for k, v in d['categories'].items()}, 'LCP', a['largest-contentful-paint']['displayValue'], 'TBT', a['total-blocking-time']['displayValue'], 'CLS', a['cumulative-layout-shift']['displayValue'], a['total-byte-weight']['displayValue'])" "$out/$name.json" "$name"
done
