#!/usr/bin/env bash
# Coverage-guided fuzzing of every byte target (fuzz/src/targets.rs) with cargo-fuzz and libFuzzer,
# then source coverage of each target's corpus; writes bench/results/fuzz_coverage.md.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET] [SLUG...]     (default 60 s, every target)
#
# QUORATE_FUZZ_REPORT_ONLY=1 fuzzes and measures nothing: it writes the report again from the last
# run's logs (fuzz/logs/) and coverage profiles (fuzz/coverage/).
#
# Needs the nightly toolchain, `cargo +nightly install cargo-fuzz` and, for the coverage columns,
# `rustup component add llvm-tools-preview --toolchain nightly` (without them the table keeps
# libFuzzer's own cov/ft figures). Not in CI: tests/parsers_fuzz.rs is the stable short pass.
# Everything runs under `nice -n 19`. The corpora (fuzz/corpus/<slug>, seeded from
# tests/fixtures/, examples/ and packaging/debian/; galera_state also from the proptest
# harness's generated reports) and findings (fuzz/artifacts/<slug>) stay between runs and are
# not committed; a finding becomes a fixture under tests/fixtures/fuzz/ and a regression test.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$root/fuzz"
secs=${1:-60}
shift || true
out=${QUORATE_FUZZ_COVERAGE_OUT:-$root/bench/results/fuzz_coverage.md}
logs="$fuzz/logs"
mkdir -p "$logs"

if [ $# -gt 0 ]; then
    slugs=("$@")
else
    mapfile -t slugs < <(cd "$fuzz/fuzz_targets" && ls ./*.rs | sed 's|^\./||; s|\.rs$||' | sort)
fi

# libFuzzer: no ASan (the targets are safe Rust: a panic is the finding), debug assertions and
# overflow checks on, as in `cargo test`; an input slower than 2 s is a finding (as in the
# proptest harness); inputs up to 64 KiB.
fuzz_flags=(--sanitizer none --debug-assertions)
libfuzzer_flags=(-timeout=2 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)

cd "$fuzz"
report_only=${QUORATE_FUZZ_REPORT_ONLY:-}
started=$(date +%s)
if [ -z "$report_only" ]; then
    nice -n 19 cargo +nightly fuzz build "${fuzz_flags[@]}" >"$logs/build.log" 2>&1 ||
        { tail -30 "$logs/build.log"; exit 1; }

    # `/galera/state` answers: no fixture holds one; the proptest harness writes its generated ones.
    if [[ " ${slugs[*]} " == *" galera_state "* ]] && ! ls "$fuzz/corpus/galera_state"/report-* >/dev/null 2>&1; then
        (cd "$root" && QUORATE_FUZZ_SEEDS="$fuzz/corpus/galera_state" nice -n 19 cargo test --test parsers_fuzz \
            write_report_seeds -- --ignored >"$logs/report_seeds.log" 2>&1) ||
            echo "no /galera/state seeds: see $logs/report_seeds.log" >&2
    fi

    # Seeds: every fixture up to 256 KiB (as tests/parsers_fuzz.rs: most are another target's format)
    # and the example configurations, named by content so reseeding adds nothing twice.
    seed() {
        local dir=$1
        mkdir -p "$dir"
        find "$root/tests/fixtures" "$root/examples" "$root/packaging/debian" -type f -size -257k \
            -print0 | while IFS= read -r -d '' f; do
            local to
            to="$dir/seed-$(sha1sum "$f" | cut -c1-16)"
            [ -e "$to" ] || cp "$f" "$to"
        done
    }
fi

declare -A runs execs cov ft corp found
for slug in "${slugs[@]}"; do
    corpus="$fuzz/corpus/$slug"
    [ -n "$report_only" ] || seed "$corpus"
    log="$logs/$slug.log"
    if [ -z "$report_only" ]; then
        echo "== $slug: ${secs} s" >&2
        set +e
        nice -n 19 cargo +nightly fuzz run "${fuzz_flags[@]}" "$slug" "$corpus" -- \
            "${libfuzzer_flags[@]}" -max_total_time="$secs" >"$log" 2>&1
        set -e
    fi
    runs[$slug]=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
    execs[$slug]=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov[$slug]=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft[$slug]=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp[$slug]=$(sed -n 's/.*corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
    # libFuzzer names what it wrote: "Test unit written to ./artifacts/<slug>/crash-..."
    new=$(sed -n 's/.*Test unit written to .*\/\([a-z-]*-[0-9a-f]*\).*/\1/p' "$log" | tr '\n' ' ')
    if [ -n "$new" ]; then
        found[$slug]=$new
    elif grep -qE '^==[0-9]+== ERROR: libFuzzer|panicked at' "$log"; then
        found[$slug]="see fuzz/logs/$slug.log"
    else
        found[$slug]=none
    fi
    echo "   runs ${runs[$slug]}, ${execs[$slug]} exec/s, cov ${cov[$slug]}, ft ${ft[$slug]}, corpus ${corp[$slug]}, findings: ${found[$slug]}" >&2
done

# Source coverage of each corpus over the module the target exercises (llvm-cov from the
# nightly's llvm-tools: it must match rustc's LLVM; the system one is older).
sysroot=$(rustc +nightly --print sysroot)
llvm_bin=$(find "$sysroot/lib/rustlib" -maxdepth 3 -type f -name llvm-cov -printf '%h\n' | head -1)
declare -A lines regions
scope() {
    case $1 in
        grastate) echo src/galera/parse/grastate.rs ;;
        gvwstate) echo src/galera/parse/gvwstate.rs ;;
        recover_log) echo src/galera/parse/recover.rs ;;
        status_rows) echo src/galera/parse/batch.rs src/galera/parse/value.rs ;;
        provider_options) echo src/galera/parse/variables.rs ;;
        gluster_*) echo src/gluster/parse.rs ;;
        backup_*) echo src/backup/parse.rs ;;
        config_yaml) echo src/config ;;
        defaults_file) echo src/config/secrets.rs ;;
        nagios_range) echo src/check/range.rs ;;
        durations_sizes) echo src/config/raw.rs src/backup/parse.rs ;;
        galera_state) echo src/recover/decide src/recover/report.rs ;;
        *) echo src ;;
    esac
}
if [ -n "$llvm_bin" ]; then
    for slug in "${slugs[@]}"; do
        if [ -z "$report_only" ]; then
            echo "== coverage $slug" >&2
            if ! nice -n 19 cargo +nightly fuzz coverage --debug-assertions "$slug" "$fuzz/corpus/$slug" \
                >"$logs/$slug.coverage.log" 2>&1; then
                lines[$slug]='failed'; regions[$slug]='failed'; continue
            fi
        fi
        bin=$(find "$fuzz/target" -path "*coverage*/release/$slug" -type f | head -1)
        paths=()
        for p in $(scope "$slug"); do paths+=("$root/$p"); done
        total=$("$llvm_bin/llvm-cov" report "$bin" -instr-profile="$fuzz/coverage/$slug/coverage.profdata" \
            "${paths[@]}" 2>/dev/null | grep '^TOTAL' || true)
        # TOTAL regions missed cover functions missed executed lines missed cover ...
        regions[$slug]=$(awk '{print $4 " of " $2}' <<<"$total")
        lines[$slug]=$(awk '{print $10 " of " $8}' <<<"$total")
    done
fi

if [ -z "$report_only" ]; then
    echo $(( $(date +%s) - started )) >"$logs/elapsed"
fi
elapsed=$(cat "$logs/elapsed" 2>/dev/null || echo '?')
{
    echo "# Fuzzing: coverage-guided run (cargo-fuzz, libFuzzer)"
    echo
    echo "Written by \`bench/fuzz.sh $secs\` (docs/development.md). The byte targets of"
    echo "\`fuzz/src/targets.rs\` (shared with the proptest harness \`tests/parsers_fuzz.rs\`, whose"
    echo "long run is \`bench/results/fuzz.md\`), built by cargo-fuzz on the nightly toolchain"
    echo "($(rustc +nightly -V | cut -d' ' -f2-)) without a sanitizer, with debug assertions and"
    echo "overflow checks; libFuzzer flags"
    echo "\`${libfuzzer_flags[*]} -max_total_time=$secs\`; corpora seeded from"
    echo "\`tests/fixtures/\`, \`examples/\` and \`packaging/debian/\` (galera_state: also 40 generated reports,"
    echo "\`write_report_seeds\` of \`tests/parsers_fuzz.rs\`). $(nproc) cores shared with other work,"
    echo "\`nice -n 19\`; ${elapsed} s in all (builds included)."
    echo
    echo "- runs, exec/s: libFuzzer's final stats; cov, ft: its coverage counters (edges and"
    echo "  features reached) at the end; corpus: inputs kept / their size."
    echo "- lines, regions: source coverage of the final corpus (\`cargo fuzz coverage\`, then"
    echo "  \`llvm-cov report\` over the files named in \"measured\": those of the parser the target"
    echo "  calls, whose other functions count as missed too), covered share of all."
    echo "- findings: the crash-, timeout-, oom- or slow-unit- files libFuzzer wrote to"
    echo "  \`fuzz/artifacts/<target>/\`."
    echo
    echo "| target | runs | exec/s | cov | ft | corpus | lines | regions | measured | findings |"
    echo "|---|---:|---:|---:|---:|---|---|---|---|---|"
    for slug in "${slugs[@]}"; do
        echo "| $slug | ${runs[$slug]} | ${execs[$slug]} | ${cov[$slug]} | ${ft[$slug]} | ${corp[$slug]} |" \
            "${lines[$slug]:-n/a} | ${regions[$slug]:-n/a} | $(scope "$slug") | ${found[$slug]} |"
    done
    echo
    echo "One target by hand (from \`fuzz/\`):"
    echo
    echo '```sh'
    echo "nice -n 19 cargo +nightly fuzz run ${fuzz_flags[*]} grastate corpus/grastate -- \\"
    echo "    ${libfuzzer_flags[*]} -max_total_time=$secs"
    echo '```'
} >"$out"
echo "wrote $out" >&2
