#!/usr/bin/env bash
# The YAML crate measurement for BENCHMARKS.md ("YAML crate"): serde-saphyr (drbook's) against
# serde_norway (the maintained fork of serde_yaml) on the DR plan document, side by side in one
# run of benches/yaml_crates.rs.
#
#   benches/yaml.sh                  # build in release once, run, print the Markdown report
#
# Environment overrides:
#   REPS=21          repetitions for the 10,000-step plan (the median is reported)
#   SMALL_REPS=501   repetitions for the guide's template
#
# The report is also written to target/bench/yaml-crates.md, after the machine's `nproc` and
# CPU model. Hostile inputs run in child processes under a 2 GiB address-space cap.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
case "${1:-}" in
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) echo "yaml.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

# shellcheck source=benches/common.sh
. benches/common.sh

OUT=target/bench
mkdir -p "$OUT"
log "building the release example yaml_crates"
cargo build --release --example yaml_crates
log "measuring"
{
  echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(uname -sr)"
  echo
  target/release/examples/yaml_crates
} | tee "$OUT/yaml-crates.md"
