#!/usr/bin/env bash
# The long run of tests/recover_chaos.rs: N seeds of randomized faults (crash, clean stop,
# freeze/thaw, partition/heal) on a real Galera sandbox, each recovered by following the
# printed `quorate recover plan` to the end. Writes bench/results/recover_chaos.md (seeds run,
# passed, failed with their seeds, recovery time min/median/max), updated after every seed.
#
# Usage: bench/recover_chaos.sh [N [FIRST_SEED]]     (default: 20 seeds from seed 1)
# Needs root (network namespaces) and the Galera packages (scripts/install-deps --tests).
# One seed takes about 1 to 4 minutes on a 2-core machine; run nothing else live meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUORATE_CHAOS_SEEDS="${1:-20}"
export QUORATE_CHAOS_FIRST_SEED="${2:-1}"
exec cargo test --locked --test recover_chaos chaos_long_run -- --ignored --nocapture --test-threads=1
