#!/usr/bin/env bash
# Runs every benchmark recorded in docs/performance.md, in release mode, one after the other
# (about 15 minutes on 2 cores, plus the build). Every load targets servers the harness starts on
# 127.0.0.1 and a scratch PostgreSQL database it drops at the end; set
# KRAFTSOCI_BENCH_DATABASE_URL to use another PostgreSQL server than
# postgres://postgres@127.0.0.1:5432/test.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "## Machine"
echo '```'
echo "nproc: $(nproc)"
free -h
grep -m1 'model name' /proc/cpuinfo
rustc -V
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo '```'

cargo build --release -p kraftsoci-benches --bin load
load() {
    echo
    cargo run -q --release -p kraftsoci-benches --bin load -- "$@"
}

load publish --pipeline orchestrator --posts 400 --accounts 10 --concurrency 16 --latency-ms 20
load publish --posts 400 --accounts 10 --concurrency 2 --latency-ms 20
load publish --posts 400 --accounts 10 --concurrency 8 --latency-ms 20
load publish --posts 400 --accounts 10 --concurrency 16 --latency-ms 20
load publish --posts 200 --accounts 10 --concurrency 8 --latency-ms 20 --ambiguous-every 10
load publish --posts 10000 --accounts 100 --concurrency 8 --latency-ms 20 --time-limit-s 900
load api --requests 5000 --concurrency 16
load login-storm --requests 3000 --concurrency 4
load export --posts 10000
load sweep --rows 1000000 --requests 2000

echo
cargo bench -p kraftsoci-benches --bench core -- --warm-up-time 1 --measurement-time 3
echo
benches/scripts/vault-instructions.sh
