#!/usr/bin/env bash
# Runs the protocol crate's fuzz targets: fuzz.sh SECONDS TARGET...
# Seeds live in crates/cni/fuzz/seeds/<target>; the working corpus and any crash artifacts in
# crates/cni/fuzz/{corpus,artifacts} (not committed). A crash fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz.sh SECONDS TARGET...}
shift
fuzz_dir=crates/cni/fuzz

# cargo-fuzz needs nightly compiler flags; use the nightly toolchain when the machine has one,
# otherwise let the stable compiler accept them.
if rustup run nightly rustc --version >/dev/null 2>&1; then
    run=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    run=(cargo fuzz)
fi

for target in "$@"; do
    corpus="$fuzz_dir/corpus/$target"
    mkdir -p "$corpus"
    if [ -d "$fuzz_dir/seeds/$target" ]; then
        cp -n "$fuzz_dir/seeds/$target"/* "$corpus"/ 2>/dev/null || true
    fi
    echo "fuzz: $target for ${seconds}s"
    log="$fuzz_dir/last-$target.log"
    status=0
    "${run[@]}" run --fuzz-dir "$fuzz_dir" "$target" "$corpus" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz: $target failed (exit $status); see $fuzz_dir/artifacts/$target" >&2
        exit 1
    fi
done
