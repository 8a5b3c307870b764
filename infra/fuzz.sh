#!/usr/bin/env bash
# make fuzz: runs each cargo-fuzz target of fuzz/ (libFuzzer, AddressSanitizer) for FUZZ_SECONDS
# (default 60) and prints a table: target, executions, crashes. Exits non-zero if any target
# crashed; the reproducer is in fuzz/artifacts/<target>/ (replay it with
# `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>`).
#
# The toolchain is stable: cargo-fuzz needs nightly flags (-Zsanitizer...), so RUSTC_BOOTSTRAP=1.
# Installs cargo-fuzz (pinned) if it is missing. The fuzz crate is its own workspace, built into
# fuzz/target; what the fuzzer learns goes to fuzz/corpus/<target> (not committed), starting from
# the committed seeds in fuzz/seeds/<target>, which it never writes to.
#
# FUZZ_TARGETS="phone sms" runs only those; FUZZ_ARGS passes more libFuzzer options.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
seconds=${FUZZ_SECONDS:-60}
targets=(${FUZZ_TARGETS:-inbound_payload keyword phone sms import})

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/fuzz/target"

if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

start=$SECONDS
echo "fuzz: building the targets (fuzz/target)"
mkdir -p fuzz/target
cargo fuzz build >fuzz/target/build.log 2>&1 || { cat fuzz/target/build.log >&2; exit 1; }
build=$((SECONDS - start))

mkdir -p fuzz/artifacts/logs
rows=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/logs/$t.log"
    before=$(find "fuzz/artifacts/$t" -type f | wc -l)
    echo "fuzz: $t for ${seconds}s (log: $log)"
    set +e
    cargo fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    set -e
    # Executions: libFuzzer's final stats, else its "Done N runs", else the last status line.
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+$' || true)
    [[ -n $execs ]] || execs=$(grep -oE 'Done [0-9]+ runs' "$log" | tail -n1 | grep -oE '[0-9]+' || true)
    [[ -n $execs ]] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -n1 | tr -d '#' || true)
    after=$(find "fuzz/artifacts/$t" -type f | wc -l)
    crashes=$((after - before))
    if [[ $rc -ne 0 && $crashes -eq 0 ]]; then crashes="?"; fi
    if [[ $rc -ne 0 || $crashes != 0 ]]; then
        failed=1
        echo "fuzz: $t FAILED (exit $rc), see $log and fuzz/artifacts/$t/" >&2
        grep -m1 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" >&2 || true
    fi
    rows+=("$t ${execs:-?} $crashes")
done

echo
printf '%-16s %8s %14s %8s\n' target seconds executions crashes
for row in "${rows[@]}"; do
    read -r t execs crashes <<<"$row"
    printf '%-16s %8s %14s %8s\n' "$t" "$seconds" "$execs" "$crashes"
done
echo "make fuzz: $((SECONDS - start)) s (build ${build} s)"
exit "$failed"
