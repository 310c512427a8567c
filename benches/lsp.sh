#!/usr/bin/env bash
# The language server's re-check after an edit, on generated runbooks (BENCHMARKS.md,
# "Language server"):
#
#   benches/lsp.sh            # 1,000 and 10,000 steps, 200 edits each
#
# Environment overrides: SIZES="1000 10000", EDITS=200, SEED=42.
# Builds the release binary and the benches/lsp_recheck.rs example once, generates
# target/bench/synthetic-N.drbook with benches/gen.py, and prints median / p90 / max of the
# in-process analysis and of didChange -> publishDiagnostics over stdio.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=target/bench
SIZES=${SIZES:-"1000 10000"}
EDITS=${EDITS:-200}
SEED=${SEED:-42}
# shellcheck source=benches/common.sh
. benches/common.sh

log "building (release)"
cargo build --release --locked --bin drbook --example lsp_recheck
mkdir -p "$OUT"
for n in $SIZES; do
  python3 benches/gen.py --steps "$n" --seed "$SEED" --out "$OUT" > /dev/null
  log "$n steps"
  target/release/examples/lsp_recheck "$OUT/synthetic-$n.drbook" target/release/drbook "$EDITS" \
    | tee "$OUT/lsp-$n.txt"
done
