#!/usr/bin/env bash
# The token vault's seal + open beside raw AES-256-GCM in instructions (callgrind), which the
# load of a shared machine does not move. Each routine runs twice, with 200 and 2,200 round
# trips; the difference divided by 2,000 is one round trip, set-up and process start cancelled
# out. Needs valgrind; builds target/release/vault_instructions first.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -q --release -p kraftsoci-benches --bin vault_instructions
bin="${CARGO_TARGET_DIR:-target}/release/vault_instructions"

instructions() {
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$1" "$2" >/dev/null 2>&1
    # The "summary:" line holds the total instruction count (Ir).
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}

declare -A per_call
for routine in vault raw raw-key-per-call; do
    low=$(instructions "$routine" 200)
    high=$(instructions "$routine" 2200)
    per_call[$routine]=$(( (high - low) / 2000 ))
done

echo "| routine (200-byte token) | instructions per seal + open | raw (cipher reused) ÷ this |"
echo "|---|---|---|"
for routine in vault raw raw-key-per-call; do
    ratio=$(awk -v raw="${per_call[raw]}" -v this="${per_call[$routine]}" \
        'BEGIN { printf "%.1f %%", 100 * raw / this }')
    echo "| \`$routine\` | ${per_call[$routine]} | $ratio |"
done
