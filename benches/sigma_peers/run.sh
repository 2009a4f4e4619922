#!/usr/bin/env bash
# scry, rsigma and Chainsaw side by side on the same Sigma rules (rules/sigma, all of SigmaHQ)
# and the same events (issue 14.6). Installs the pinned peers into the work directory (cached),
# builds scry, generates flat Sysmon JSON lines (gen_sysmon.py), runs every engine over
#   (a) the 144 regression EVTX files of tests/data/sigma/regression_data,
#   (b) their JSON twins (scry and rsigma; Chainsaw's Sigma mappings are for EVTX only),
#   (c) the generated file,
# compares the match sets rule by rule (peers.py; DIFFERENCES.md in the work directory), then
# times each engine on the generated file (hyperfine; peak RSS from /usr/bin/time).
#
# usage: benches/sigma_peers/run.sh [--size-mb N] [--runs N] [--check-only] [--extra DIR]...
#   --size-mb N    size of the generated file (default 1024)
#   --runs N       timed runs per engine and thread count (default 3; medians are reported)
#   --check-only   compare matches on the regression EVTX files only: no generated file, no
#                  timing (a few minutes once the peers are installed)
#   --extra DIR    also compare on the flat JSON files of DIR (e.g. ../shared/data/sysmon-otrf;
#                  events are keyed by their time, so millisecond times may merge events)
# env: SCRY_PEERS_DIR (work directory, default /tmp/scry-peers), CHAINSAW_SRC (a checkout of
#   WithSecureLabs/chainsaw at the pinned tag, when it cannot be cloned), CHAINSAW_MFT (see
#   below), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=benches/sigma_peers

RSIGMA_VERSION=0.23.0 # the newest release whose rust-version this toolchain (1.95) meets
CHAINSAW_TAG=v2.16.4
CHAINSAW_REPO=https://github.com/WithSecureLabs/chainsaw

SIZE_MB=1024
RUNS=3
CHECK_ONLY=0
EXTRA=()
while [ $# -gt 0 ]; do
  case $1 in
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --check-only) CHECK_ONLY=1; shift ;;
    --extra) EXTRA+=("$2"); shift 2 ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
  esac
done

WORK=${SCRY_PEERS_DIR:-/tmp/scry-peers}
TOOLS=$WORK/tools
OUT=$WORK/out
mkdir -p "$TOOLS" "$OUT"
RULES=rules/sigma
REG=tests/data/sigma/regression_data
log() { printf '\n== %s\n' "$*" >&2; }

# ---- the peers ----------------------------------------------------------------------------
RSIGMA=$TOOLS/bin/rsigma
if ! "$RSIGMA" --version 2>/dev/null | grep -q "$RSIGMA_VERSION"; then
  log "installing rsigma $RSIGMA_VERSION"
  # EVTX input is a feature; the daemon (the default feature) is not needed for `engine eval`.
  cargo install --locked --version "$RSIGMA_VERSION" --no-default-features --features evtx \
    --root "$TOOLS" rsigma
fi

# Chainsaw (WithSecure) is not on crates.io: the crate named `chainsaw` there is an unrelated
# newick-tree tool. It is built from its source at the pinned tag.
CHAINSAW=$TOOLS/bin/chainsaw
CS_SRC=${CHAINSAW_SRC:-$WORK/chainsaw-src}
if ! "$CHAINSAW" --version 2>/dev/null | grep -q "${CHAINSAW_TAG#v}"; then
  if [ ! -f "$CS_SRC/Cargo.toml" ]; then
    log "cloning Chainsaw $CHAINSAW_TAG"
    git clone --quiet --depth 1 --branch "$CHAINSAW_TAG" "$CHAINSAW_REPO" "$CS_SRC" ||
      echo "chainsaw: no source (set CHAINSAW_SRC to a checkout of $CHAINSAW_TAG); running without it" >&2
  fi
  if [ -f "$CS_SRC/Cargo.toml" ]; then
    log "building Chainsaw $CHAINSAW_TAG"
    # Its manifest patches libesedb, mft and notatin (ESE, MFT and hive parsers, not on the EVTX
    # or JSON hunting path) to git forks. Where those cannot be fetched, the patch section is
    # dropped: libesedb and notatin build from their crates.io releases; mft's does not fit
    # Chainsaw's code (a path type), so CHAINSAW_MFT may name a checkout of the mft fork. The
    # lock file is kept for everything else (`cargo build` re-resolves only what the change
    # needs; `cargo install` without --locked would re-resolve everything).
    if ! cargo install --locked --path "$CS_SRC" --root "$TOOLS"; then
      sed -i '/^# Handling abandoned upstreams/,$d' "$CS_SRC/Cargo.toml"
      if [ -n "${CHAINSAW_MFT:-}" ] && ! grep -q '^\[patch.crates-io\]' "$CS_SRC/Cargo.toml"; then
        printf '[patch.crates-io]\nmft = { path = "%s" }\n' "$CHAINSAW_MFT" >> "$CS_SRC/Cargo.toml"
      fi
      CARGO_TARGET_DIR=$WORK/target-chainsaw cargo build --release --manifest-path "$CS_SRC/Cargo.toml"
      mkdir -p "$TOOLS/bin"
      cp "$WORK/target-chainsaw/release/chainsaw" "$CHAINSAW"
    fi
  fi
fi
HAVE_CHAINSAW=0
if "$CHAINSAW" --version >/dev/null 2>&1; then HAVE_CHAINSAW=1; fi
CS_MAP=$CS_SRC/mappings/sigma-event-logs-all.yml

# ---- scry ---------------------------------------------------------------------------------
log "building scry (release)"
cargo build --release --quiet
SCRY=${CARGO_TARGET_DIR:-target}/release/scry
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD)"
  echo "scry: $($SCRY --version 2>&1 | head -1)"
  echo "rsigma: $($RSIGMA --version 2>&1 | head -1)"
  [ "$HAVE_CHAINSAW" = 1 ] && echo "chainsaw: $($CHAINSAW --version 2>&1 | head -1)"
  echo "cpus: $(nproc)"
} > "$OUT/versions.txt"
cat "$OUT/versions.txt" >&2

# ---- rules each engine loads ----------------------------------------------------------------
log "rules loaded"
"$SCRY" check --rules "$RULES" > "$OUT/scry-check.txt" 2>&1 || true
# rsigma: lint-free load through `engine eval` on an empty input prints its rule count
: > "$OUT/empty.jsonl"
"$RSIGMA" engine eval -r "$RULES" -p sysmon --logsource-routing --event-logsource product=windows -e "@$OUT/empty.jsonl" \
  > /dev/null 2> "$OUT/rsigma-load.txt" || true
CS_LINT=()
if [ "$HAVE_CHAINSAW" = 1 ]; then
  "$CHAINSAW" lint --kind sigma "$RULES" > "$OUT/chainsaw-lint.txt" 2>&1 || true
  CS_LINT=(--chainsaw "$OUT/chainsaw-lint.txt")
fi
python3 "$HERE/peers.py" loaded --out "$OUT" --rules "$RULES" \
  --scry "$OUT/scry-check.txt" --rsigma "$OUT/rsigma-load.txt" \
  "${CS_LINT[@]}" > "$OUT/loaded.md"
cat "$OUT/loaded.md" >&2

# ---- (a) regression EVTX, (b) JSON twins ----------------------------------------------------
# rsigma reads EVTX records in the evtx crate's nested shape and SigmaHQ rules name flat
# fields: this jq filter lifts EventData and the System fields the rules read to the top level
# (the documented way: input-formats guide). `-p sysmon` adds the EventID condition of each
# category (rsigma's builtin pipeline); --logsource-routing with the static product windows
# skips the rules of other products (EVTX implies it; JSON input does not).
# shellcheck disable=SC2016 # jq variables, not shell ones
JQ='.Event as $e | ($e.EventData // {}) + {EventID: ($e.System.EventID | if type == "object" then .["#text"] else . end), Channel: $e.System.Channel, Computer: $e.System.Computer, Provider_Name: $e.System.Provider["#attributes"].Name, EventRecordID: $e.System.EventRecordID, TimeCreated: $e.System.TimeCreated["#attributes"].SystemTime}'
RS_ARGS=(engine eval -r "$RULES" -p sysmon --logsource-routing --event-logsource product=windows)

log "matches: regression EVTX"
mapfile -t EVTX < <(find "$REG" -name '*.evtx' | sort)
"$SCRY" run --rules "$RULES" --format ndjson "${EVTX[@]}" > "$OUT/a-scry.ndjson" 2> "$OUT/a-scry.err"
: > "$OUT/a-rsigma.ndjson"
for f in "${EVTX[@]}"; do
  "$RSIGMA" "${RS_ARGS[@]}" --include-event --jq "$JQ" -e "@$f" >> "$OUT/a-rsigma.ndjson" 2>> "$OUT/a-rsigma.err" || true
done
ENG=(--engine "scry=$OUT/a-scry.json" --engine "rsigma=$OUT/a-rsigma.json")
python3 "$HERE/peers.py" sets scry "$OUT/a-scry.json" "$OUT/a-scry.ndjson"
python3 "$HERE/peers.py" sets rsigma "$OUT/a-rsigma.json" "$OUT/a-rsigma.ndjson"
if [ "$HAVE_CHAINSAW" = 1 ]; then
  "$CHAINSAW" hunt "$REG" -s "$RULES" --mapping "$CS_MAP" --extension evtx --json --skip-errors \
    > "$OUT/a-chainsaw.raw.json" 2> "$OUT/a-chainsaw.err" || true
  python3 "$HERE/peers.py" sets chainsaw "$OUT/a-chainsaw.json" "$OUT/a-chainsaw.raw.json"
  ENG+=(--engine "chainsaw=$OUT/a-chainsaw.json")
fi
DIFF=$OUT/DIFFERENCES.md
{
  echo "# Sigma: scry, rsigma and Chainsaw, match by match"
  echo
  echo "Generated by \`benches/sigma_peers/run.sh\`; versions:"
  echo
  sed 's/^/    /' "$OUT/versions.txt"
  echo
  cat "$OUT/loaded.md"
} > "$DIFF"
LOADED=(--loaded "scry=$OUT/loaded-scry.txt" --loaded "rsigma=$OUT/loaded-rsigma.txt")
[ "$HAVE_CHAINSAW" = 1 ] && LOADED+=(--loaded "chainsaw=$OUT/loaded-chainsaw.txt")
python3 "$HERE/peers.py" compare --case "(a) the regression EVTX files (${#EVTX[@]})" --rules "$RULES" \
  "${ENG[@]}" "${LOADED[@]}" --events "$REG" --verdicts "$HERE/verdicts.json" --out "$DIFF"

if [ "$CHECK_ONLY" = 0 ]; then
  log "matches: JSON twins"
  python3 "$HERE/peers.py" twins "$REG" "$OUT/twins"
  mapfile -t TWINS < <(find "$REG" -name '*.json' | sort)
  "$SCRY" run --rules "$RULES" --format ndjson "${TWINS[@]}" > "$OUT/b-scry.ndjson" 2> "$OUT/b-scry.err"
  # one input for rsigma: events are keyed by their time, which is unique across the twins
  cat "$OUT"/twins/*.ndjson > "$OUT/twins.ndjson"
  "$RSIGMA" "${RS_ARGS[@]}" --include-event --jq "$JQ" -e "@$OUT/twins.ndjson" > "$OUT/b-rsigma.ndjson" 2> "$OUT/b-rsigma.err" || true
  python3 "$HERE/peers.py" sets scry "$OUT/b-scry.json" "$OUT/b-scry.ndjson"
  python3 "$HERE/peers.py" sets rsigma "$OUT/b-rsigma.json" "$OUT/b-rsigma.ndjson"
  python3 "$HERE/peers.py" compare --case "(b) their JSON twins (evtx_dump layout)" --rules "$RULES" \
    --engine "scry=$OUT/b-scry.json" --engine "rsigma=$OUT/b-rsigma.json" "${LOADED[@]}" \
    --events "$REG" --verdicts "$HERE/verdicts.json" --out "$DIFF"

  GEN=$WORK/sysmon-$SIZE_MB.jsonl
  if [ ! -s "$GEN" ]; then
    log "generating $SIZE_MB MB of Sysmon JSON lines"
    python3 "$HERE/gen_sysmon.py" --out "$GEN.tmp" --size-mb "$SIZE_MB" && mv "$GEN.tmp" "$GEN"
  fi
  EVENTS=$(wc -l < "$GEN")
  BYTES=$(stat -c %s "$GEN")
  log "matches: generated file ($EVENTS events, $BYTES bytes)"
  "$SCRY" run --rules "$RULES" --format ndjson "$GEN" > "$OUT/c-scry.ndjson" 2> "$OUT/c-scry.err"
  "$RSIGMA" "${RS_ARGS[@]}" --include-event -e "@$GEN" > "$OUT/c-rsigma.ndjson" 2> "$OUT/c-rsigma.err" || true
  python3 "$HERE/peers.py" sets scry "$OUT/c-scry.json" "$OUT/c-scry.ndjson"
  python3 "$HERE/peers.py" sets rsigma "$OUT/c-rsigma.json" "$OUT/c-rsigma.ndjson"
  ENG=(--engine "scry=$OUT/c-scry.json" --engine "rsigma=$OUT/c-rsigma.json")
  if [ "$HAVE_CHAINSAW" = 1 ]; then
    python3 "$HERE/peers.py" chainsaw-mapping "$CS_MAP" "$OUT/chainsaw-flat.yml"
    "$CHAINSAW" hunt "$GEN" -s "$RULES" --mapping "$OUT/chainsaw-flat.yml" --load-unknown --json --skip-errors \
      > "$OUT/c-chainsaw.raw.json" 2> "$OUT/c-chainsaw.err" || true
    python3 "$HERE/peers.py" sets chainsaw "$OUT/c-chainsaw.json" "$OUT/c-chainsaw.raw.json"
    ENG+=(--engine "chainsaw=$OUT/c-chainsaw.json")
  fi
  python3 "$HERE/peers.py" compare --case "(c) generated Sysmon JSON lines ($SIZE_MB MB, $EVENTS events)" \
    --rules "$RULES" "${ENG[@]}" "${LOADED[@]}" --events "$GEN" --verdicts "$HERE/verdicts.json" --out "$DIFF"

  for d in "${EXTRA[@]}"; do
    log "matches: $d"
    name=$(basename "$d")
    mapfile -t XF < <(find "$d" -name '*.json' | sort)
    "$SCRY" run --rules "$RULES" --format ndjson "${XF[@]}" > "$OUT/x-$name-scry.ndjson" 2> /dev/null
    cat "${XF[@]}" | "$RSIGMA" "${RS_ARGS[@]}" --include-event > "$OUT/x-$name-rsigma.ndjson" 2> /dev/null || true
    python3 "$HERE/peers.py" sets scry "$OUT/x-$name-scry.json" "$OUT/x-$name-scry.ndjson"
    python3 "$HERE/peers.py" sets rsigma "$OUT/x-$name-rsigma.json" "$OUT/x-$name-rsigma.ndjson"
    python3 "$HERE/peers.py" compare --case "extra: $d" --rules "$RULES" \
      --engine "scry=$OUT/x-$name-scry.json" --engine "rsigma=$OUT/x-$name-rsigma.json" "${LOADED[@]}" \
      --events "$d" --verdicts "$HERE/verdicts.json" --out "$DIFF"
  done
fi
log "differences: $DIFF"
[ "$CHECK_ONLY" = 1 ] && exit 0

# ---- timing on the generated file -----------------------------------------------------------
# /usr/bin/time per run: wall and CPU seconds, peak RSS, and the load average beside each (the
# machine may be shared; CPU seconds suffer less from that than wall time). Each engine also
# runs once on an empty input: its start-up (loading and compiling the rules) is reported apart.
log "timing ($RUNS runs each)"
: > "$OUT/timing.tsv"
timed() { # name input command...
  local name=$1 input=$2 i
  shift 2
  for ((i = 1; i <= RUNS; i++)); do
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "$@" > /dev/null 2>&1 || true
    printf '%s\t%s\t%s\t%s\n' "$name" "$input" "$(cat "$OUT/time.txt")" \
      "$(cut -d' ' -f1 /proc/loadavg)" >> "$OUT/timing.tsv"
  done
}
for input in "$OUT/empty.jsonl" "$GEN"; do
  kind=events
  [ "$input" = "$GEN" ] || kind=empty
  timed "scry 1 thread" "$kind" "$SCRY" run --rules "$RULES" --format ndjson --threads 1 "$input"
  timed "scry 2 threads" "$kind" "$SCRY" run --rules "$RULES" --format ndjson --threads 2 "$input"
  timed "rsigma" "$kind" "$RSIGMA" "${RS_ARGS[@]}" -e "@$input"
  if [ "$HAVE_CHAINSAW" = 1 ]; then
    for n in 1 2; do
      timed "chainsaw $n thread$([ $n = 2 ] && echo s)" "$kind" "$CHAINSAW" --num-threads "$n" hunt "$input" \
        -s "$RULES" --mapping "$OUT/chainsaw-flat.yml" --load-unknown --json --skip-errors -q
    done
  fi
done
python3 "$HERE/peers.py" timing --out "$OUT" --events "$EVENTS" --bytes "$BYTES" > "$OUT/timing.md"
cat "$OUT/timing.md"
