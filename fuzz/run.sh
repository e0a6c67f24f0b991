#!/usr/bin/env bash
# Fuzzes the hdon-format parser for a given time. Opt-in, not part of CI.
#   fuzz/run.sh [SECONDS]        (default 60)
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The corpus starts from
# valid files of every family (format/examples/fuzz_seeds.rs); crashes land in
# fuzz/artifacts/parse/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
corpus=fuzz/corpus/parse
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
    cargo run -q -p hdon-format --example fuzz_seeds -- "$corpus"
fi
exec cargo +nightly fuzz run parse "$corpus" -- -max_total_time="$secs" -max_len=65536
