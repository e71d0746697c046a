#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60), from
# the seeds in fuzz/seeds/<target>/ plus the corpus it grows in
# fuzz/corpus/<target>/ (not committed). A crash fails the script and leaves
# its input in fuzz/artifacts/<target>/: keep it as a regression test in
# tests/integration/garbage.rs.
#
# The toolchain here is stable; cargo-fuzz needs nightly flags
# (-Zsanitizer=address and friends), which RUSTC_BOOTSTRAP=1 unlocks.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../fuzz"
secs=${1:-60}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1

cargo fuzz build -O
mkdir -p logs
for target in $(cargo fuzz list); do
    mkdir -p "corpus/$target"
    log="logs/$target.log"
    echo "==> fuzz $target for ${secs}s"
    if ! cargo fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -seed=1 -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
done
