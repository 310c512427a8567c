#!/usr/bin/env bash
# Produce the benchmark figures for BENCHMARKS.md.
#
#   benches/run.sh                 # drbook check / drbook plan vs. the YAML baseline
#   benches/run.sh --yaml-only     # only the YAML baseline (while drbook is not ready)
#
# Environment overrides:
#   SIZES="1000 10000 100000"   step counts to generate and measure
#   RUNS=20 WARMUP=3            hyperfine runs / warm-up runs below 100,000 steps
#   RUNS_LARGE=10 WARMUP_LARGE=1  the same from 100,000 steps up (each run takes seconds)
#   RSS_RUNS=3                  runs of /usr/bin/time -v per command; the largest peak RSS is kept
#   SEED=42                     generator seed
#   DRBOOK=path                 drbook binary to measure (default target/release/drbook, built
#                               here; when set, only the baseline is built)
#
# It installs hyperfine and GNU time if missing (apt-get; sudo only when not root), builds the
# release binaries once, generates target/bench/synthetic-N.{drbook,yaml} with benches/gen.py,
# checks that every command succeeds on every file, runs ONE hyperfine invocation per size with
# all commands side by side (JSON and Markdown exports in target/bench/), measures peak RSS,
# and prints (and writes to target/bench/summary.md) medians, peak RSS and drbook/yaml ratios.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=target/bench
SIZES=${SIZES:-"1000 10000 100000"}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
RUNS_LARGE=${RUNS_LARGE:-10}
WARMUP_LARGE=${WARMUP_LARGE:-1}
RSS_RUNS=${RSS_RUNS:-3}
SEED=${SEED:-42}
YAML_ONLY=0

while [ $# -gt 0 ]; do
  case "$1" in
    --yaml-only) YAML_ONLY=1 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=benches/common.sh
. benches/common.sh  # the script has cd-ed to the repository root

# --- tools -----------------------------------------------------------------------------------
need hyperfine hyperfine
need /usr/bin/time time
command -v python3 > /dev/null 2>&1 || { echo "run.sh: python3 is required" >&2; exit 1; }

# --- build once ------------------------------------------------------------------------------
YAML=target/release/examples/yaml_baseline
log "building release binaries"
if [ "$YAML_ONLY" -eq 1 ] || [ -n "${DRBOOK:-}" ]; then
  cargo build --release --example yaml_baseline
else
  cargo build --release --bin drbook --example yaml_baseline
fi
DRBOOK=${DRBOOK:-target/release/drbook}

# --- generate --------------------------------------------------------------------------------
mkdir -p "$OUT"
log "generating synthetic runbooks into $OUT (seed $SEED)"
for n in $SIZES; do
  python3 benches/gen.py --steps "$n" --out "$OUT" --seed "$SEED"
done

# The commands measured for size $1, one per line as "label<TAB>command". No shell is involved
# (hyperfine -N, plain exec for /usr/bin/time): output goes to /dev/null in both.
commands_for() {
  local n=$1
  if [ "$YAML_ONLY" -eq 0 ]; then
    printf 'drbook check\t%s check %s\n' "$DRBOOK" "$OUT/synthetic-$n.drbook"
    printf 'drbook plan --format json\t%s plan %s --format json\n' "$DRBOOK" "$OUT/synthetic-$n.drbook"
    # The same runbook without `verify` probes: one warning per step, rendered with snippets.
    if [ "$n" -eq 10000 ]; then
      printf 'drbook check, a warning per step\t%s check %s\n' "$DRBOOK" "$OUT/synthetic-$n-noverify.drbook"
    fi
  fi
  printf 'yaml_baseline (serde_norway)\t%s %s\n' "$YAML" "$OUT/synthetic-$n.yaml"
  printf 'yaml_baseline, forward steps only\t%s %s\n' "$YAML" "$OUT/synthetic-$n-forward.yaml"
}

# --- preflight: every command must succeed before it is timed -------------------------------
log "preflight"
for n in $SIZES; do
  while IFS=$'\t' read -r label cmd; do
    read -ra argv <<< "$cmd"
    if ! "${argv[@]}" > "$OUT/preflight.out" 2> "$OUT/preflight.err"; then
      echo "run.sh: '$cmd' failed; its stderr:" >&2
      head -n 20 "$OUT/preflight.err" >&2
      if [ "$label" != "yaml_baseline (serde_norway)" ]; then
        echo "run.sh: drbook is not working yet? Use --yaml-only to measure the baseline alone." >&2
      fi
      exit 1
    fi
    case "$label" in
      "drbook plan --format json")
        if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT/preflight.out"; then
          echo "run.sh: '$cmd' did not print valid JSON" >&2
          exit 1
        fi
        ;;
    esac
    if [ -s "$OUT/preflight.err" ]; then
      echo "note: '$cmd' printed on stderr (first lines):" >&2
      head -n 5 "$OUT/preflight.err" >&2
    fi
    echo "ok  $cmd" >&2
  done < <(commands_for "$n")
done
rm -f "$OUT/preflight.out" "$OUT/preflight.err"

# --- timings: one hyperfine invocation per size, all commands side by side -------------------
for n in $SIZES; do
  if [ "$n" -ge 100000 ]; then runs=$RUNS_LARGE warmup=$WARMUP_LARGE; else runs=$RUNS warmup=$WARMUP; fi
  hf_args=()
  while IFS=$'\t' read -r label cmd; do
    hf_args+=(--command-name "$label" "$cmd")
  done < <(commands_for "$n")
  log "hyperfine: $n steps ($warmup warm-up, $runs runs)"
  hyperfine -N --warmup "$warmup" --runs "$runs" --output null \
    --export-json "$OUT/hyperfine-$n.json" --export-markdown "$OUT/hyperfine-$n.md" \
    "${hf_args[@]}"
done

# --- peak RSS: /usr/bin/time -v, largest of RSS_RUNS runs ------------------------------------
log "peak RSS ($RSS_RUNS runs each)"
RSS_FILE="$OUT/rss.tsv"
: > "$RSS_FILE"
for n in $SIZES; do
  while IFS=$'\t' read -r label cmd; do
    read -ra argv <<< "$cmd"
    peak=0
    for _ in $(seq "$RSS_RUNS"); do
      /usr/bin/time -v -o "$OUT/time.txt" "${argv[@]}" > /dev/null 2>&1
      kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$OUT/time.txt")
      if [ "$kb" -gt "$peak" ]; then peak=$kb; fi
    done
    printf '%s\t%s\t%s\n' "$n" "$label" "$peak" >> "$RSS_FILE"
    echo "$n steps  $label: $peak KB" >&2
  done < <(commands_for "$n")
done
rm -f "$OUT/time.txt"

# --- summary ---------------------------------------------------------------------------------
log "summary"
python3 - "$OUT" "$SIZES" > "$OUT/summary.md" <<'PY'
import json, os, platform, subprocess, sys

out, sizes = sys.argv[1], [int(s) for s in sys.argv[2].split()]
rss = {}
with open(os.path.join(out, "rss.tsv")) as f:
    for line in f:
        n, label, kb = line.rstrip("\n").split("\t")
        rss[(int(n), label)] = int(kb)

def version(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"

cpu = "?"
try:
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
except OSError:
    pass

def ms(x):
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.3f} s"

print(f"Machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
      f"{version('rustc', '--version')}; {version('hyperfine', '--version')}")
print()
print("| steps | .drbook | .yaml | command | median | mean ± σ | min | peak RSS | vs yaml | vs forward yaml |")
print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
YAML_LABEL = "yaml_baseline (serde_norway)"
FORWARD_LABEL = "yaml_baseline, forward steps only"
for n in sizes:
    with open(os.path.join(out, f"hyperfine-{n}.json")) as f:
        results = json.load(f)["results"]
    yaml_median = next((r["median"] for r in results if r["command"] == YAML_LABEL), None)
    fwd_median = next((r["median"] for r in results if r["command"] == FORWARD_LABEL), None)
    dsize = os.path.getsize(os.path.join(out, f"synthetic-{n}.drbook")) / 1e6
    ysize = os.path.getsize(os.path.join(out, f"synthetic-{n}.yaml")) / 1e6
    for r in results:
        label = r["command"]
        baseline = label in (YAML_LABEL, FORWARD_LABEL)
        ratio = f"{r['median'] / yaml_median:.3f}×" if yaml_median and not baseline else ""
        fwd = f"{r['median'] / fwd_median:.3f}×" if fwd_median and not baseline else ""
        kb = rss.get((n, label))
        mem = f"{kb / 1024:.1f} MiB" if kb is not None else "?"
        print(f"| {n:,} | {dsize:.2f} MB | {ysize:.2f} MB | `{label}` | {ms(r['median'])} "
              f"| {ms(r['mean'])} ± {ms(r['stddev'] or 0.0)} | {ms(r['min'])} | {mem} | {ratio} | {fwd} |")
print()
print("`vs yaml` and `vs forward yaml` are the drbook median divided by the median of the "
      "full and the forward-only SSM document of the same plan (below 1 means drbook is faster).")
PY
cat "$OUT/summary.md"
echo
echo "Raw data: $OUT/hyperfine-N.{json,md}, $OUT/rss.tsv, $OUT/summary.md" >&2
