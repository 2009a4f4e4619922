#!/usr/bin/env bash
# The multi-event lane of issue 13: a sequence, a sliding threshold and a bucketed threshold
# over ~1 GB of generated Defender rows, against the same conditions alone. The results are
# checked against check.py's Python reference first; then both rule files are timed on one
# thread (hyperfine) and their peak RSS measured (/usr/bin/time). Numbers: benches/RESULTS.md.
#
# usage: benches/multi_event/run.sh [ROWS]   (default 420000 rows, about 1.1 GB)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-420000}
DATA=${SCRY_BENCH_DIR:-/tmp/scry-bench}
mkdir -p "$DATA"
IN="$DATA/multi-$ROWS.jsonl"
cargo build --release --quiet --example gen_events
cargo build --release --quiet
SCRY=target/release/scry
if [ ! -s "$IN" ]; then
  target/release/examples/gen_events --seed 7 --rows "$ROWS" --match-rate 0.01 --window-hours 24 > "$IN"
fi
ARGS=(--now 2024-05-15T12:00:00Z --format ndjson --threads 1)
$SCRY run --rules benches/multi_event/filters.scry "${ARGS[@]}" "$IN" > "$DATA/filters.ndjson" 2>/dev/null
$SCRY run --rules benches/multi_event/shaped.scry "${ARGS[@]}" "$IN" > "$DATA/shaped.ndjson" 2>/dev/null
python3 benches/multi_event/check.py "$DATA/filters.ndjson" "$DATA/shaped.ndjson"
ls -l "$IN" | awk '{print "input:", $5, "bytes"}'
for rules in filters shaped; do
  /usr/bin/time -f "$rules: peak RSS %M KiB, %U s user + %S s sys" \
    $SCRY run --rules "benches/multi_event/$rules.scry" "${ARGS[@]}" "$IN" > /dev/null 2> "$DATA/$rules.time" || true
  tail -1 "$DATA/$rules.time"
done
hyperfine --warmup 1 --runs "${RUNS:-5}" \
  -n filters "$SCRY run --rules benches/multi_event/filters.scry ${ARGS[*]} $IN" \
  -n shaped "$SCRY run --rules benches/multi_event/shaped.scry ${ARGS[*]} $IN" \
  --export-json "$DATA/multi-hyperfine.json" 2>&1 | grep -E "Time|±|faster|filters|shaped"
