#!/usr/bin/env bash
# Run the agent's libFuzzer harnesses one after another, splitting TOTAL_SECONDS between them.
# Usage: run.sh FUZZ_BUILD_DIR TOTAL_SECONDS   (prints TAP: one line per harness with its
# execution count; a crash leaves crash-* inputs in FUZZ_BUILD_DIR and fails that line).
set -u
dir=${1:?fuzz build dir}
total=${2:-600}
src=$(cd "$(dirname "$0")" && pwd)
harnesses=(fuzz_http fuzz_multipart fuzz_zip)
per=$(( total / ${#harnesses[@]} ))
[ "$per" -lt 1 ] && per=1
echo "1..${#harnesses[@]}"
n=0 failed=0 all=0
for h in "${harnesses[@]}"; do
  n=$((n + 1))
  exe=$dir/$h
  if [ ! -x "$exe" ]; then
    echo "not ok $n - $h # not built (needs clang and libclang-rt-14-dev)"
    failed=$((failed + 1))
    continue
  fi
  work=$dir/corpus-$h
  mkdir -p "$work"
  log=$dir/$h.log
  case $h in
    fuzz_multipart) maxlen=200000 ;;
    *) maxlen=65536 ;;
  esac
  "$exe" -max_total_time="$per" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/crash-$h-" "$work" "$src/corpus/${h#fuzz_}" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(ls "$work" | wc -l)
  if [ "$rc" = 0 ]; then
    echo "ok $n - $h: ${execs:-?} executions in ${per}s, no crash (corpus $corpus inputs)"
  else
    echo "not ok $n - $h: exit $rc after ${execs:-?} executions; see $log"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/# /'
    failed=$((failed + 1))
  fi
  all=$((all + ${execs:-0}))
done
echo "# total: $all executions in about ${total}s"
[ "$failed" = 0 ]
