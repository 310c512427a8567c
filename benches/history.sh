#!/usr/bin/env bash
# Produce the `drbook history` figures for BENCHMARKS.md ("History").
#
#   benches/history.sh
#
# Environment overrides:
#   RUNS_IN_STATE=1000     finished runs and drills to make in the state dir
#   RUNS=30 WARMUP=3       hyperfine runs / warm-up runs per command
#   DRBOOK=path            drbook binary to measure (default target/release/drbook, built here)
#
# It installs hyperfine if missing (apt-get; sudo only when not root), builds the release drbook
# once, then makes RUNS_IN_STATE real finished runs in target/bench-history/state by running a
# two-step runbook with the real runner (every third one a `drill --type full`, every tenth one
# failing), so each run dir holds what a runner leaves: journal, anchor, logs and the summary
# written when it stopped. It checks that `history --format json` lists every run, newest first,
# then times with ONE hyperfine invocation, side by side:
#   1. `drbook history` (text, with the RTO sparkline) and `--format json`, reading summaries;
#   2. the same on a copy of the state dir without summaries (every journal replayed: what
#      history would cost without them);
#   3. `drbook readiness` of the runbook over the same state dir;
# and prints (and writes to target/bench-history/summary.md) the medians.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=target/bench-history
RUNS_IN_STATE=${RUNS_IN_STATE:-1000}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}

case "${1:-}" in
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) echo "history.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

# shellcheck source=benches/common.sh
. benches/common.sh  # the script has cd-ed to the repository root
die() { echo "history.sh: $*" >&2; exit 1; }

need hyperfine hyperfine
command -v python3 > /dev/null 2>&1 || die "python3 is required"

if [ -z "${DRBOOK:-}" ]; then
  log "building the release drbook"
  cargo build --release --bin drbook
fi
DRBOOK=$(realpath "${DRBOOK:-target/release/drbook}")

# --- make the runs ---------------------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
STATE="$OUT/state"
BOOK="$OUT/bench.drbook"
cat > "$BOOK" <<'EOF'
runbook "bench" {
  owner "ops"
  rto 1m
  reviewed 2026-11-01
  review_every 90d
  drills {
    full every 365d
  }
  step check { duration 1s; run "true" }
  step restore { needs check; duration 2s; run "test ! -e fail" }
}
EOF
log "making $RUNS_IN_STATE finished runs with the real runner"
for i in $(seq 1 "$RUNS_IN_STATE"); do
  if [ $((i % 10)) -eq 0 ]; then touch "$OUT/fail"; else rm -f "$OUT/fail"; fi
  (
    cd "$OUT"
    if [ $((i % 3)) -eq 0 ]; then
      "$DRBOOK" drill bench.drbook --type full --state-dir state --run-id "b-$i"
    else
      "$DRBOOK" run bench.drbook --state-dir state --run-id "b-$i"
    fi
  ) > /dev/null 2>&1 || true
done
rm -f "$OUT/fail"
made=$(find "$STATE/runs" -mindepth 2 -maxdepth 2 -name summary.json | wc -l)
[ "$made" -eq "$RUNS_IN_STATE" ] || die "$made summaries for $RUNS_IN_STATE runs"

# The same runs without their summaries: history replays every journal.
cp -a "$STATE" "$OUT/state-replay"
find "$OUT/state-replay/runs" -name summary.json -delete

# --- preflight: history lists every run, newest first, the same with or without summaries -----
log "preflight"
"$DRBOOK" history --state-dir "$STATE" --format json > "$OUT/with.json"
"$DRBOOK" history --state-dir "$OUT/state-replay" --format json > "$OUT/without.json"
python3 - "$OUT/with.json" "$OUT/without.json" "$RUNS_IN_STATE" <<'PY'
import json, sys
with_, without, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
runs = with_["runs"]
assert len(runs) == n, f"{len(runs)} runs listed, {n} made"
starts = [r["started_at"] for r in runs]
assert starts == sorted(starts, reverse=True), "not newest first"
assert with_ == without, "summaries and replay disagree"
kinds = {k: sum(r["kind"] == k for r in runs) for k in ("run", "full")}
failed = sum(r["status"] == "failed" for r in runs)
print(f"ok: {n} runs ({kinds['run']} runs, {kinds['full']} full drills, {failed} failed), "
      "newest first, identical with and without summaries", file=sys.stderr)
PY
"$DRBOOK" readiness "$BOOK" --state-dir "$STATE" > /dev/null || [ $? -eq 1 ] || die "readiness failed"

# --- timings ---------------------------------------------------------------------------------
log "hyperfine ($WARMUP warm-up, $RUNS runs)"
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --output null -i \
  --export-json "$OUT/hyperfine.json" --export-markdown "$OUT/hyperfine.md" \
  --command-name "history (text, summaries)" "$DRBOOK history --state-dir $STATE" \
  --command-name "history --format json (summaries)" "$DRBOOK history --state-dir $STATE --format json" \
  --command-name "history --format svg (summaries)" "$DRBOOK history --state-dir $STATE --format svg" \
  --command-name "history (text, no summaries: replay)" "$DRBOOK history --state-dir $OUT/state-replay" \
  --command-name "readiness (summaries)" "$DRBOOK readiness $BOOK --state-dir $STATE"

python3 - "$OUT" "$RUNS_IN_STATE" > "$OUT/summary.md" <<'PY'
import json, os, sys
out, n = sys.argv[1], sys.argv[2]
res = json.load(open(os.path.join(out, "hyperfine.json")))["results"]
print(f"| command ({n} finished runs) | median | mean ± σ | min | max |")
print("|---|---|---|---|---|")
for r in res:
    ms = lambda s: f"{s * 1000:.1f} ms"
    print(f"| {r['command']} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'])} | "
          f"{ms(r['min'])} | {ms(r['max'])} |")
PY
cat "$OUT/summary.md"
