#!/usr/bin/env bash
# Seconds of training per epoch as the training set grows (linear cost check).
# usage: NETC_DATA=../shared/data bash benchmarks/epoch_time.sh [models/simpleconv.net]
set -euo pipefail
model=${1:-models/simpleconv.net}
out=$(mktemp -d)
for limit in 10000 30000 60000; do
  netc train "$model" --epochs 1 --set data.limit=$limit --json -q --out "$out/$limit" |
    python -c "import json,sys; r=json.loads(sys.stdin.readlines()[-1]); \
print(f'| $limit | {r[\"seconds\"]:.1f} | {r[\"images_per_s\"]:,.0f} | {r[\"test_acc\"]:.4f} |')"
done
rm -rf "$out"
