#!/usr/bin/env bash
# Benchmark harness (issue 8). Run by hand, not in CI:
#
#   benches/run.sh                 # 1M, 10M and 30M events
#   benches/run.sh 1000000         # one size
#   PANDAS_MAX=10000000 benches/run.sh   # largest size the pandas baseline is run on (default 10M)
#
# For each size it generates a canonical demo-store log (uncompressed CSV) with the demo
# generator, then times in one run, on the same file and machine:
#   (a) optsignal recommend, end to end (read, observe, fit, flag, recommend, render JSON);
#   (b) a bare CSV record scan of the file (examples/csv_scan.rs): the physical floor of reading it;
#   (c) the analyst's pandas + statsmodels baseline (../shared/bench/baseline_pandas.py).
# Wall time, CPU time and peak memory come from /usr/bin/time -v. Results are appended to
# benches/results.csv with the machine, and a summary with the ratios is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000 30000000)
pandas_max=${PANDAS_MAX:-10000000}
work=${BENCH_DIR:-/tmp/optsignal-bench}
baseline=../shared/bench/baseline_pandas.py
mkdir -p "$work"

cargo build --release --locked --bin optsignal --example bench_log --example csv_scan >&2
bin=${CARGO_TARGET_DIR:-target}/release
python3 -c "import pandas, statsmodels" 2>/dev/null || python3 -m pip install --quiet pandas statsmodels >&2

# measure NAME CMD...: runs CMD under /usr/bin/time -v, prints "wall cpu maxrss_kb".
measure() {
  local log="$work/time.$1.log"; shift
  /usr/bin/time -v "$@" > /dev/null 2> "$log"
  local wall cpu_u cpu_s rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  cpu_u=$(awk -F': ' '/User time/ {print $2}' "$log")
  cpu_s=$(awk -F': ' '/System time/ {print $2}' "$log")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$log")
  echo "$wall $(echo "$cpu_u + $cpu_s" | bc -l) $rss"
}

results=benches/results.csv
[ -f "$results" ] || echo "date,machine,events,tool,wall_s,cpu_s,max_rss_kb" > "$results"
machine="$(nproc)cpu-$(free -g | awk '/Mem:/ {print $2}')GiB-$(uname -m)"
printf '\n%-10s %-10s %9s %9s %11s\n' events tool wall_s cpu_s max_rss_MB
for n in "${sizes[@]}"; do
  f="$work/events_$n.csv"
  [ -s "$f" ] || "$bin/examples/bench_log" "$n" "$f" >&2
  declare -A W C M
  read -r W[scan] C[scan] M[scan] < <(measure scan "$bin/examples/csv_scan" "$f")
  read -r W[opt] C[opt] M[opt] < <(measure opt "$bin/optsignal" recommend --events "$f" --platform meta --ad-sets 2 --format json)
  tools=(scan opt)
  if [ "$n" -le "$pandas_max" ]; then
    read -r W[pandas] C[pandas] M[pandas] < <(measure pandas python3 "$baseline" "$f")
    tools+=(pandas)
  fi
  for t in "${tools[@]}"; do
    printf '%-10s %-10s %9.2f %9.2f %11.1f\n' "$n" "$t" "${W[$t]}" "${C[$t]}" "$(echo "${M[$t]} / 1024" | bc -l)"
    echo "$(date -u +%F),$machine,$n,$t,${W[$t]},${C[$t]},${M[$t]}" >> "$results"
  done
  printf '  optsignal / scan: %.2fx wall, %.2fx cpu' "$(echo "${W[opt]} / ${W[scan]}" | bc -l)" "$(echo "${C[opt]} / ${C[scan]}" | bc -l)"
  if [ -n "${W[pandas]:-}" ]; then
    printf ';  pandas / optsignal: %.1fx wall, %.1fx cpu, %.1fx memory' "$(echo "${W[pandas]} / ${W[opt]}" | bc -l)" "$(echo "${C[pandas]} / ${C[opt]}" | bc -l)" "$(echo "${M[pandas]} / ${M[opt]}" | bc -l)"
  fi
  echo
  unset W C M
done
