#!/bin/sh
# Fuzzes one target until all its runs together have used TOTAL_CPU_SECONDS of CPU time
# (not wall time: libFuzzer's -max_total_time is wall-clock, and on a shared machine the
# two differ by a lot), or until it finds a crash, timeout or out-of-memory (written to
# fuzz/artifacts/<target>/). Each run appends "<target> <cpu seconds> <exit status>" to
# fuzz/cpu-time.log, whose sum per target is what it has had; the run's `/usr/bin/time -v`
# report is fuzz/logs/<target>.<n>.time, libFuzzer's output beside it.
#
#   RUSTC_BOOTSTRAP=1 cargo fuzz build -a     # once, from the repository root
#   fuzz/run.sh oci_punchout_cart 600
set -eu

target=$1
total_cpu_seconds=$2
spent=$(awk -v t="$target" '$1 == t { s += $2 } END { printf "%d", s }' fuzz/cpu-time.log 2>/dev/null || echo 0)
cpu_seconds=$((total_cpu_seconds - spent))
[ "$cpu_seconds" -gt 0 ] || exit 0
bin=fuzz/target/x86_64-unknown-linux-gnu/release/$target
[ -x "$bin" ] || { echo "no $bin: build with cargo fuzz build -a" >&2; exit 2; }
mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target" fuzz/logs
run=1
while [ -e "fuzz/logs/$target.$run.time" ]; do run=$((run + 1)); done
log=fuzz/logs/$target.$run

nice -n 19 /usr/bin/time -v -o "$log.time" "$bin" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 \
    "fuzz/corpus/$target" "fuzz/seeds/$target" >"$log.log" 2>&1 &
time_pid=$!

# The fuzzer's CPU time so far, from /proc (utime + stime, in clock ticks).
ticks=$(getconf CLK_TCK)
fuzzer_pid=""
while kill -0 "$time_pid" 2>/dev/null; do
    sleep 5
    [ -n "$fuzzer_pid" ] || fuzzer_pid=$(pgrep -P "$time_pid" || true)
    [ -n "$fuzzer_pid" ] || continue
    used=$(awk '{ print $14 + $15 }' "/proc/$fuzzer_pid/stat" 2>/dev/null || echo 0)
    if [ "$used" -ge $((cpu_seconds * ticks)) ]; then
        kill -INT "$fuzzer_pid" 2>/dev/null || true
        break
    fi
done
status=0
wait "$time_pid" || status=$?
user=$(awk -F': ' '/User time/ { print $2 }' "$log.time")
system=$(awk -F': ' '/System time/ { print $2 }' "$log.time")
echo "$target $(echo "$user + $system" | bc) $status" >>fuzz/cpu-time.log
