#!/usr/bin/env bash
# Produce the executor-overhead figures for BENCHMARKS.md ("Executor overhead").
#
#   benches/exec.sh
#
# Environment overrides:
#   RUNS=20 WARMUP=3         hyperfine runs / warm-up runs per shape (all tools side by side)
#   RSS_RUNS=3               runs of /usr/bin/time -v per command; the largest peak RSS is kept
#   REPLAY_STEPS=10000       steps of the run whose journal `status` / `resume` replay
#   REPLAY_RUNS=30           hyperfine runs of each replay command (3 warm-ups)
#   FSYNC_SAMPLES=2000       write+fdatasync pairs timed by the fsync probe
#   DRBOOK=path              drbook binary to measure (default target/release/drbook, built here)
#
# It installs ninja-build, hyperfine and GNU time if missing (apt-get; sudo only when not root), builds the release drbook once, writes the DAGs with benches/gen_exec.py into
# target/bench-exec/, checks that every tool runs every step of every shape exactly once, then:
#   1. times one write + fdatasync of a journal-sized record on this file system;
#   2. per shape (independent-1000, chain-200, layers-50x20) runs ONE hyperfine invocation with
#      `drbook run --parallel 2`, `make -j2` and `ninja -j2` side by side, plus drbook with its
#      state dir on tmpfs (/dev/shm: fdatasync is a no-op there, so this row shows what
#      durability costs; a diagnostic, never a valid configuration), each run starting from no
#      state (fresh --state-dir, no .ninja_log);
#   3. measures peak RSS with /usr/bin/time -v, and counts drbook's fsync/fdatasync calls
#      per shape (perf's syscall tracepoints, else strace -f -c; one untimed run each);
#   4. runs a REPLAY_STEPS-step runbook (parallel 8) once, then times `drbook status RUN`,
#      `drbook status`, `drbook status RUN --format json` and `drbook resume RUN` (the run has
#      succeeded, so resume replays the journal and stops) on its journal;
# and prints (and writes to target/bench-exec/summary.md) the tables.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=target/bench-exec
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
RSS_RUNS=${RSS_RUNS:-3}
REPLAY_STEPS=${REPLAY_STEPS:-10000}
REPLAY_RUNS=${REPLAY_RUNS:-30}
FSYNC_SAMPLES=${FSYNC_SAMPLES:-2000}
SHAPES="independent-1000 chain-200 layers-50x20"

case "${1:-}" in
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) echo "exec.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

# shellcheck source=benches/common.sh
. benches/common.sh  # the script has cd-ed to the repository root
die() { echo "exec.sh: $*" >&2; exit 1; }

# --- tools -----------------------------------------------------------------------------------
need ninja ninja-build
need hyperfine hyperfine
need /usr/bin/time time
need make make
need strace strace
command -v python3 > /dev/null 2>&1 || die "python3 is required"

# --- build once ------------------------------------------------------------------------------
if [ -z "${DRBOOK:-}" ]; then
  log "building the release drbook"
  cargo build --release --bin drbook
fi
DRBOOK=${DRBOOK:-target/release/drbook}
DRBOOK=$(realpath "$DRBOOK")

# --- generate --------------------------------------------------------------------------------
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
log "generating the DAGs into $OUT"
python3 benches/gen_exec.py --out "$OUT" --replay-steps "$REPLAY_STEPS"
STATE="$OUT/state" # the state dir of a timed drbook run; removed before every run
# The same on tmpfs, for the no-durability diagnostic row (skipped when /dev/shm is not tmpfs).
SHM_STATE=""
if [ "$(stat -f -c %T /dev/shm 2> /dev/null)" = "tmpfs" ]; then
  SHM_STATE="/dev/shm/drbook-bench-exec-state-$$"
  trap 'rm -rf "$SHM_STATE"' EXIT
fi

steps_in() { grep -c '^  step ' "$OUT/$1/$1.drbook"; }

# The commands measured for shape $1, one per line as "label<TAB>command" (no shell: hyperfine
# -N, plain exec for /usr/bin/time; output goes to /dev/null).
commands_for() {
  local d="$OUT/$1"
  printf 'drbook run --parallel 2\t%s run %s --state-dir %s --parallel 2 --log-format json --allow-concurrent\n' \
    "$DRBOOK" "$d/$1.drbook" "$STATE"
  if [ -n "$SHM_STATE" ]; then
    printf 'drbook run, state dir on tmpfs (no fdatasync)\t%s run %s --state-dir %s --parallel 2 --log-format json --allow-concurrent\n' \
      "$DRBOOK" "$d/$1.drbook" "$SHM_STATE"
  fi
  printf 'make -j2\tmake -j2 -C %s -f Makefile all\n' "$d"
  printf 'ninja -j2\tninja -j2 -C %s -f build.ninja\n' "$d"
}
# Run before every timed or measured run: no state left by the previous one.
reset_cmd() { printf 'rm -rf %s %s %s' "$STATE" "$OUT/$1/.ninja_log" "$SHM_STATE"; }

# --- preflight: every tool runs every step exactly once and exits 0 --------------------------
log "preflight"
for shape in $SHAPES; do
  n=$(steps_in "$shape")
  while IFS=$'\t' read -r label cmd; do
    read -ra argv <<< "$cmd"
    read -ra reset <<< "$(reset_cmd "$shape")"
    "${reset[@]}"
    rc=0
    "${argv[@]}" > "$OUT/preflight.out" 2> "$OUT/preflight.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "exec.sh: '$cmd' exited $rc; its stderr:" >&2
      head -n 20 "$OUT/preflight.err" >&2
      exit 1
    fi
    case "$label" in
      drbook*)
        # Every step started once and succeeded once; the journal holds run_started, then
        # step_started + step_process + step_succeeded per step, then run_finished.
        state=$STATE
        case "$label" in *tmpfs*) state=$SHM_STATE ;; esac
        python3 - "$OUT/preflight.out" "$state" "$n" <<'PY' || die "'$cmd' did not run every step once"
import collections, json, os, sys
out, state, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = collections.Counter(json.loads(l)["event"] for l in open(out) if l.strip())
runs = os.listdir(os.path.join(state, "runs"))
assert len(runs) == 1, runs
journal = os.path.join(state, "runs", runs[0], "journal")
records = sum(1 for _ in open(journal, "rb"))
ok = c["step_started"] == n and c["step_succeeded"] == n and records == 3 * n + 2
print(f"  {n} steps: {c['step_started']} started, {c['step_succeeded']} succeeded, "
      f"{records} journal records, {os.path.getsize(journal)} bytes", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
        ;;
      make*)
        ran=$(grep -cx 'true' "$OUT/preflight.out" || true)
        [ "$ran" -eq "$n" ] || die "'$cmd' ran $ran recipes, not $n"
        ;;
      ninja*)
        ran=$(grep -c '^\[[0-9]*/[0-9]*\] true$' "$OUT/preflight.out" || true)
        [ "$ran" -eq "$n" ] || die "'$cmd' ran $ran edges, not $n"
        ;;
    esac
    if [ -s "$OUT/preflight.err" ]; then
      echo "note: '$cmd' printed on stderr (first lines):" >&2
      head -n 5 "$OUT/preflight.err" >&2
    fi
    echo "ok  $shape: $label" >&2
  done < <(commands_for "$shape")
done
rm -f "$OUT/preflight.out" "$OUT/preflight.err"

# --- fsync cost on this file system ----------------------------------------------------------
log "fdatasync probe ($FSYNC_SAMPLES samples, in $OUT)"
python3 - "$OUT" "$FSYNC_SAMPLES" > "$OUT/fsync.json" <<'PY'
import json, os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
p = os.path.join(d, "fsync-probe")
# Like a journal append: O_APPEND, one ~140-byte record per write, fdatasync after each.
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
rec = b"x" * 139 + b"\n"
sync, write = [], []
for _ in range(n):
    t0 = time.perf_counter_ns()
    os.write(fd, rec)
    t1 = time.perf_counter_ns()
    os.fdatasync(fd)
    t2 = time.perf_counter_ns()
    write.append(t1 - t0)
    sync.append(t2 - t1)
os.close(fd)
os.unlink(p)
def q(xs, f):
    xs = sorted(xs)
    return xs[round(f * (len(xs) - 1))] / 1e3
print(json.dumps({"samples": n, "record_bytes": len(rec),
                  "fdatasync_us": {k: q(sync, f) for k, f in
                                   (("p10", .1), ("median", .5), ("p90", .9), ("p99", .99))},
                  "write_median_us": q(write, .5)}))
PY
cat "$OUT/fsync.json" >&2
(cd "$OUT" && dd if=/dev/zero of=dd-probe bs=140 count=1000 oflag=dsync 2>&1 | tail -n 1 >&2; rm -f dd-probe)

# --- the floor: one process, as each tool starts it ------------------------------------------
log "hyperfine: one process (the per-step floor)"
hyperfine -N --warmup 20 --runs 200 --output null \
  --export-json "$OUT/hyperfine-process.json" \
  --command-name '/usr/bin/true (as make runs it)' '/usr/bin/true' \
  --command-name 'sh -c true (as drbook and ninja run it)' 'sh -c true'

# --- timings: one hyperfine invocation per shape, all tools side by side ---------------------
for shape in $SHAPES; do
  hf_args=()
  while IFS=$'\t' read -r label cmd; do
    hf_args+=(--command-name "$label" "$cmd")
  done < <(commands_for "$shape")
  log "hyperfine: $shape ($WARMUP warm-up, $RUNS runs)"
  hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --output null \
    --prepare "$(reset_cmd "$shape")" \
    --export-json "$OUT/hyperfine-$shape.json" --export-markdown "$OUT/hyperfine-$shape.md" \
    "${hf_args[@]}"
done

# --- peak RSS: /usr/bin/time -v, largest of RSS_RUNS runs ------------------------------------
log "peak RSS ($RSS_RUNS runs each)"
RSS_FILE="$OUT/rss.tsv"
: > "$RSS_FILE"
for shape in $SHAPES; do
  while IFS=$'\t' read -r label cmd; do
    read -ra argv <<< "$cmd"
    read -ra reset <<< "$(reset_cmd "$shape")"
    peak=0
    for _ in $(seq "$RSS_RUNS"); do
      "${reset[@]}"
      /usr/bin/time -v -o "$OUT/time.txt" "${argv[@]}" > /dev/null
      kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$OUT/time.txt")
      if [ "$kb" -gt "$peak" ]; then peak=$kb; fi
    done
    printf '%s\t%s\t%s\n' "$shape" "$label" "$peak" >> "$RSS_FILE"
    echo "$shape  $label: $peak KB" >&2
  done < <(commands_for "$shape")
done
rm -f "$OUT/time.txt"

# --- syncs per step: fsync + fdatasync calls of one (untimed) durable run per shape ----------
# perf's syscall tracepoints count without slowing the run; strace -f -c (the fallback where
# perf has no tracepoints) slows every syscall, so records wait longer and group less: its
# counts are an upper bound.
log "syncs per step (one run each)"
SYNC_FILE="$OUT/syncs.tsv"
: > "$SYNC_FILE"
counter=strace
if perf stat -e syscalls:sys_enter_fdatasync true > /dev/null 2>&1; then counter=perf; fi
for shape in $SHAPES; do
  n=$(steps_in "$shape")
  cmd=$(commands_for "$shape" | head -n 1 | cut -f 2)
  read -ra argv <<< "$cmd"
  read -ra reset <<< "$(reset_cmd "$shape")"
  "${reset[@]}"
  if [ "$counter" = perf ]; then
    perf stat -x, -o "$OUT/syncs.txt" -e syscalls:sys_enter_fdatasync -e syscalls:sys_enter_fsync \
      "${argv[@]}" > /dev/null
    syncs=$(awk -F, '/sys_enter_f(data)?sync/ { s += $1 } END { print s + 0 }' "$OUT/syncs.txt")
  else
    strace -f -c -e trace=fsync,fdatasync -o "$OUT/syncs.txt" "${argv[@]}" > /dev/null
    syncs=$(awk '$NF == "fsync" || $NF == "fdatasync" { s += $4 } END { print s + 0 }' "$OUT/syncs.txt")
  fi
  printf '%s\t%s\t%s\t%s\n' "$shape" "$n" "$syncs" "$counter" >> "$SYNC_FILE"
  echo "$shape: $syncs syncs for $n steps ($counter)" >&2
done
rm -f "$OUT/syncs.txt"

# --- replay: a finished REPLAY_STEPS-step run, read back by status and resume ----------------
RSTATE="$OUT/replay-state"
RBOOK="$OUT/replay-$REPLAY_STEPS/replay-$REPLAY_STEPS.drbook"
log "running the $REPLAY_STEPS-step runbook once (parallel 8)"
rm -rf "$RSTATE"
/usr/bin/time -v -o "$OUT/replay-run-time.txt" \
  "$DRBOOK" run "$RBOOK" --state-dir "$RSTATE" --log-format json > "$OUT/replay-run.out" \
  || die "the $REPLAY_STEPS-step run failed (see $OUT/replay-run.out)"
RID=$(ls "$RSTATE/runs")
JOURNAL="$RSTATE/runs/$RID/journal"
"$DRBOOK" status "$RID" --state-dir "$RSTATE" --format json > "$OUT/replay-status.json"
python3 - "$OUT/replay-status.json" "$JOURNAL" "$REPLAY_STEPS" "$OUT/replay-run-time.txt" \
  > "$OUT/replay.json" <<'PY' || die "the $REPLAY_STEPS-step run did not succeed in full"
import json, os, re, sys
status, journal, n, tfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = json.load(open(status))
ok = s["status"] == "succeeded" and len(s["steps"]) == n and all(
    x["state"] == "succeeded" and x["attempts"] == 1 for x in s["steps"])
records = sum(1 for _ in open(journal, "rb"))
t = open(tfile).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
first = open(journal, "rb").readline()
print(json.dumps({"steps": n, "records": records, "bytes": os.path.getsize(journal),
                  "first_record_bytes": len(first), "run_wall_s": secs, "run_rss_kb": rss}))
sys.exit(0 if ok and records == 3 * n + 2 else 1)
PY
cat "$OUT/replay.json" >&2
log "hyperfine: replaying the $REPLAY_STEPS-step journal (3 warm-up, $REPLAY_RUNS runs)"
hyperfine -N --warmup 3 --runs "$REPLAY_RUNS" --output null \
  --export-json "$OUT/hyperfine-replay.json" --export-markdown "$OUT/hyperfine-replay.md" \
  --command-name "drbook status RUN" "$DRBOOK status $RID --state-dir $RSTATE" \
  --command-name "drbook status RUN --format json" "$DRBOOK status $RID --state-dir $RSTATE --format json" \
  --command-name "drbook status (list)" "$DRBOOK status --state-dir $RSTATE" \
  --command-name "drbook resume RUN (already succeeded)" "$DRBOOK resume $RID --state-dir $RSTATE"

# --- summary ---------------------------------------------------------------------------------
log "summary"
python3 - "$OUT" "$SHAPES" > "$OUT/summary.md" <<'PY'
import json, os, platform, subprocess, sys

out, shapes = sys.argv[1], sys.argv[2].split()

def version(*cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"

cpu = "?"
with open("/proc/cpuinfo") as f:
    cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")

def ms(x):
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.3f} s"

def us(x):
    return f"{x * 1e6:.0f} µs"

rss = {}
with open(os.path.join(out, "rss.tsv")) as f:
    for line in f:
        shape, label, kb = line.rstrip("\n").split("\t")
        rss[(shape, label)] = int(kb)

print(f"Machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
      f"{version('make', '--version')}; ninja {version('ninja', '--version')}; "
      f"{version('hyperfine', '--version')}")
print()
fs = json.load(open(os.path.join(out, "fsync.json")))["fdatasync_us"]
print(f"fdatasync of a {json.load(open(os.path.join(out, 'fsync.json')))['record_bytes']}-byte "
      f"append: median {fs['median']:.0f} µs (p10 {fs['p10']:.0f}, p90 {fs['p90']:.0f}, "
      f"p99 {fs['p99']:.0f} µs)")
proc = json.load(open(os.path.join(out, "hyperfine-process.json")))["results"]
print("One process: " + "; ".join(f"{r['command']}: {us(r['median'])}" for r in proc))
print()
print("| shape | tool | median wall | per step | user+sys per step | peak RSS | ÷ ninja |")
print("|---|---|---:|---:|---:|---:|---:|")
for shape in shapes:
    n = sum(1 for l in open(os.path.join(out, shape, f"{shape}.drbook")) if l.startswith("  step "))
    results = json.load(open(os.path.join(out, f"hyperfine-{shape}.json")))["results"]
    ninja = next(r["median"] for r in results if r["command"] == "ninja -j2")
    for r in results:
        kb = rss.get((shape, r["command"]))
        mem = f"{kb / 1024:.1f} MiB" if kb is not None else "?"
        cpu_step = (r["user"] + r["system"]) / n
        print(f"| {shape} | {r['command']} | {ms(r['median'])} | {us(r['median'] / n)} "
              f"| {us(cpu_step)} | {mem} | {r['median'] / ninja:.2f}× |")
print()
print("| shape | steps | fsync + fdatasync calls | per step | counted with |")
print("|---|---:|---:|---:|---|")
with open(os.path.join(out, "syncs.tsv")) as f:
    for line in f:
        shape, n, syncs, counter = line.rstrip("\n").split("\t")
        print(f"| {shape} | {n} | {syncs} | {int(syncs) / int(n):.2f} | {counter} |")
print()
rp = json.load(open(os.path.join(out, "replay.json")))
print(f"Replay: {rp['steps']:,}-step run (parallel 8) took {rp['run_wall_s']:.2f} s, "
      f"peak RSS {rp['run_rss_kb'] / 1024:.1f} MiB; journal {rp['records']:,} records, "
      f"{rp['bytes'] / 1e6:.2f} MB (run_started alone {rp['first_record_bytes'] / 1e3:.0f} kB)")
print()
print("| command | median | mean ± σ | max |")
print("|---|---:|---:|---:|")
for r in json.load(open(os.path.join(out, "hyperfine-replay.json")))["results"]:
    print(f"| `{r['command']}` | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'] or 0)} "
          f"| {ms(r['max'])} |")
PY
cat "$OUT/summary.md"
echo
echo "Raw data: $OUT/hyperfine-*.{json,md}, $OUT/rss.tsv, $OUT/fsync.json, $OUT/replay.json" >&2
