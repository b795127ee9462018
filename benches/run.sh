#!/usr/bin/env bash
# Benchmark harness (issues 8 and 18). Run by hand, not in CI:
#
#   benches/run.sh                     # 10M events (the issue's size)
#   benches/run.sh 1000000 10000000    # several sizes
#
# Environment:
#   RUNS=3          runs of each tool per size (median reported; at least 3 for a table)
#   PYTHON=...      the Python with duckdb, pandas and statsmodels (default /work/venv/bin/python
#                   when it exists, else python3); a baseline whose modules are missing is skipped
#                   with a message, nothing is installed
#   PANDAS_MAX=N    largest size the pandas baseline runs on (default 10000000; 0 skips it)
#   DUCKDB_THREADS  threads given to DuckDB (default 2, the machine's cores here)
#   TOOLS="..."     subset of: scan opt opt1 duckdb pandas (default all)
#   BENCH_DIR       where the generated logs live (default /tmp/optsignal-bench)
#   BIN_DIR         use the optsignal, bench_log and csv_scan binaries there instead of building
#                   (a directory with optsignal and examples/; e.g. a copy of an older build)
#   BASE_BIN_DIR    also time the optsignal in this directory (tool "base"), alternating with the
#                   current one: a before/after comparison within one run
#   LABEL           free text stored with the rows of benches/results.csv (e.g. "before")
#
# For each size it writes a canonical demo-store log (uncompressed CSV) with the demo generator
# (examples/bench_log.rs), then times on the same file, alternating the tools within each round
# (round r runs scan, opt, opt1, duckdb, pandas, rotated by r) so that load drifts hit them alike:
#   scan    a bare csv-crate record scan (examples/csv_scan.rs): the floor of reading the file;
#   opt     optsignal recommend end to end (read, observe, fit, flag, recommend, render JSON),
#           default threads;
#   opt1    the same with --threads 1 (only when the binary has --threads);
#   base    optsignal from BASE_BIN_DIR, the same command as opt (only when BASE_BIN_DIR is set);
#   duckdb  DuckDB grouping + statsmodels on the grouped counts (../shared/bench/baseline_duckdb.py);
#   pandas  pandas + statsmodels (../shared/bench/baseline_pandas.py).
# Wall time, CPU time (user + system) and peak RSS come from /usr/bin/time -v. The medians are
# printed with the ratios and appended to benches/results.csv with the machine, commit and label.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000000)
runs=${RUNS:-3}
pandas_max=${PANDAS_MAX:-10000000}
duck_threads=${DUCKDB_THREADS:-2}
work=${BENCH_DIR:-/tmp/optsignal-bench}
label=${LABEL:-}
all_tools="scan opt opt1 duckdb pandas"
[ -z "${BASE_BIN_DIR:-}" ] || all_tools="$all_tools base"
wanted=" ${TOOLS:-$all_tools} "
shared=../shared/bench
if [ -z "${PYTHON:-}" ]; then
  if [ -x /work/venv/bin/python ]; then PYTHON=/work/venv/bin/python; else PYTHON=python3; fi
fi
mkdir -p "$work"
[ -x /usr/bin/time ] || { echo "benches/run.sh: /usr/bin/time (GNU time) is needed" >&2; exit 1; }

if [ -n "${BIN_DIR:-}" ]; then
  bin=$BIN_DIR
else
  cargo build --release --locked --bin optsignal --example bench_log --example csv_scan >&2
  bin=${CARGO_TARGET_DIR:-target}/release
fi

# has_py MODULES...: whether $PYTHON imports them all.
has_py() { "$PYTHON" -c "import $(IFS=,; echo "$*")" 2>/dev/null; }
skip() { echo "benches/run.sh: skipping $1: $2" >&2; }
tools=()
for t in $all_tools; do
  [[ "$wanted" == *" $t "* ]] || continue
  case $t in
    opt1)
      if ! "$bin/optsignal" recommend --help 2>/dev/null | grep -q -- '--threads'; then
        skip opt1 "this optsignal has no --threads option"; continue
      fi ;;
    duckdb)
      if [ ! -f "$shared/baseline_duckdb.py" ]; then skip duckdb "$shared/baseline_duckdb.py not found"; continue; fi
      if ! has_py duckdb pandas numpy statsmodels; then
        skip duckdb "$PYTHON cannot import duckdb, pandas, numpy and statsmodels (set PYTHON)"; continue
      fi ;;
    pandas)
      if [ ! -f "$shared/baseline_pandas.py" ]; then skip pandas "$shared/baseline_pandas.py not found"; continue; fi
      if ! has_py pandas numpy statsmodels; then
        skip pandas "$PYTHON cannot import pandas, numpy and statsmodels (set PYTHON)"; continue
      fi ;;
  esac
  tools+=("$t")
done

# measure NAME FILE: runs tool NAME on FILE under /usr/bin/time -v, prints "wall cpu maxrss_kb".
measure() {
  local log="$work/time.$1.log" f=$2
  local cmd
  case $1 in
    scan) cmd=("$bin/examples/csv_scan" "$f") ;;
    opt) cmd=("$bin/optsignal" recommend --events "$f" --platform meta --ad-sets 2 --format json) ;;
    opt1) cmd=("$bin/optsignal" recommend --events "$f" --platform meta --ad-sets 2 --format json --threads 1) ;;
    base) cmd=("$BASE_BIN_DIR/optsignal" recommend --events "$f" --platform meta --ad-sets 2 --format json) ;;
    duckdb) cmd=("$PYTHON" "$shared/baseline_duckdb.py" "$f" "$duck_threads") ;;
    pandas) cmd=("$PYTHON" "$shared/baseline_pandas.py" "$f") ;;
  esac
  /usr/bin/time -v "${cmd[@]}" > /dev/null 2> "$log" || { echo "benches/run.sh: $1 failed, see $log" >&2; exit 1; }
  local wall cpu_u cpu_s rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  cpu_u=$(awk -F': ' '/User time/ {print $2}' "$log")
  cpu_s=$(awk -F': ' '/System time/ {print $2}' "$log")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$log")
  echo "$wall $(echo "$cpu_u + $cpu_s" | bc -l) $rss"
}

# median of the arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# ratio A B: A / B with two decimals, "-" when either is missing.
ratio() { if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then printf '%.2f' "$(echo "$1 / $2" | bc -l)"; else printf -- '-'; fi; }

results=benches/results.csv
header="date,machine,events,tool,wall_s,cpu_s,max_rss_kb,runs,commit,label"
[ -f "$results" ] || echo "$header" > "$results"
machine="$(nproc)cpu-$(free -g | awk '/Mem:/ {print $2}')GiB-$(uname -m)"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
for n in "${sizes[@]}"; do
  f="$work/events_$n.csv"
  [ -s "$f" ] || "$bin/examples/bench_log" "$n" "$f" >&2
  here=()
  for t in "${tools[@]}"; do
    if [ "$t" = pandas ] && [ "$n" -gt "$pandas_max" ]; then skip pandas "$n events > PANDAS_MAX=$pandas_max"; continue; fi
    here+=("$t")
  done
  declare -A WS CS MS W C M
  for ((r = 0; r < runs; r++)); do
    k=${#here[@]}
    for ((i = 0; i < k; i++)); do
      t=${here[$(((i + r) % k))]}
      read -r w c m < <(measure "$t" "$f") || true
      [ -n "${m:-}" ] || exit 1
      WS[$t]="${WS[$t]:-} $w"; CS[$t]="${CS[$t]:-} $c"; MS[$t]="${MS[$t]:-} $m"
      echo "  run $((r + 1))/$runs $t: wall $w s, cpu $c s, rss $((m / 1024)) MB" >&2
    done
  done
  printf '\n%-10s %-8s %9s %9s %11s   (median of %d; load %s)\n' events tool wall_s cpu_s max_rss_MB "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
  for t in "${here[@]}"; do
    # shellcheck disable=SC2086
    W[$t]=$(median ${WS[$t]}); C[$t]=$(median ${CS[$t]}); M[$t]=$(median ${MS[$t]})
    printf '%-10s %-8s %9.2f %9.2f %11.1f\n' "$n" "$t" "${W[$t]}" "${C[$t]}" "$(echo "${M[$t]} / 1024" | bc -l)"
    echo "$(date -u +%F),$machine,$n,$t,${W[$t]},${C[$t]},${M[$t]},$runs,$commit,$label" >> "$results"
  done
  echo "  optsignal / DuckDB:  wall $(ratio "${W[opt]:-}" "${W[duckdb]:-}"), cpu $(ratio "${C[opt]:-}" "${C[duckdb]:-}"), memory $(ratio "${M[opt]:-}" "${M[duckdb]:-}")   (targets <= 0.50, <= 0.50, <= 0.25)"
  echo "  optsignal / scan:    wall $(ratio "${W[opt]:-}" "${W[scan]:-}"), cpu $(ratio "${C[opt]:-}" "${C[scan]:-}")   (target cpu <= 2.5)"
  echo "  optsignal / pandas:  wall $(ratio "${W[opt]:-}" "${W[pandas]:-}"), cpu $(ratio "${C[opt]:-}" "${C[pandas]:-}"), memory $(ratio "${M[opt]:-}" "${M[pandas]:-}")"
  echo "  optsignal / base:    wall $(ratio "${W[opt]:-}" "${W[base]:-}"), cpu $(ratio "${C[opt]:-}" "${C[base]:-}"), memory $(ratio "${M[opt]:-}" "${M[base]:-}")"
  echo "  1 thread / default:  wall $(ratio "${W[opt1]:-}" "${W[opt]:-}"), cpu $(ratio "${C[opt1]:-}" "${C[opt]:-}")   (target wall >= 1.7 on 2 cores)"
  unset WS CS MS W C M
done
