# Helpers the bench scripts share; source it after setting `root` and `build`.
#
# bench_setup NAME DO_BUILD: a scratch folder $work, the list $pids of
# processes to stop at exit (each killed and waited for, then $work removed),
# log() lines prefixed with NAME, a build when DO_BUILD is 1, and the paths
# $bench (infergate-bench) and $infergate.
bench_setup() {
  bench_name=$1
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
  if [ "$2" = 1 ]; then
    "$root/scripts/setup.sh"
    "$root/scripts/build.sh"
  fi
  bench="$build/tools/infergate-bench/infergate-bench"
  infergate="$build/src/infergate"
}
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
log() { printf '%s: %s\n' "$bench_name" "$*" >&2; }

# A free loopback port, for servers that cannot listen on 0 and report it.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_line FILE REGEX SECONDS: prints the first matching line; fails
# (and logs the end of FILE) on time-out.
wait_for_line() {
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt $end ]; do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "no '$2' in $1: $(tail -2 "$1")"
  return 1
}

# cpu_ticks PID: user + system CPU time of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# bench_options NAME HELP_LINES [--FLAG=VAR...] -- ARGS...: the options the
# side-by-side scripts share, into $rounds, $warmup, $duration, $concurrency,
# $do_build and $out (the caller sets their defaults first, and
# $smoke_warmup, $smoke_duration and optionally $smoke_concurrency for
# --smoke: one round, no build); each --FLAG=VAR names a flag of the script's
# own that sets VAR to 1; --help prints lines HELP_LINES (a sed range, e.g.
# 2,24) of the script.
bench_options() {
  local name=$1 help=$2 flag var
  local -A flags=()
  shift 2
  while [ "$1" != -- ]; do flags[${1%%=*}]=${1#*=}; shift; done
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --rounds) rounds=$2; shift 2 ;;
      --warmup) warmup=$2; shift 2 ;;
      --duration) duration=$2; shift 2 ;;
      --concurrency) concurrency=$2; shift 2 ;;
      --no-build) do_build=0; shift ;;
      --out) out=$2; shift 2 ;;
      --smoke) rounds=1; warmup=$smoke_warmup; duration=$smoke_duration
               concurrency=${smoke_concurrency:-$concurrency}; do_build=0; shift ;;
      -h|--help) sed -n "${help}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *)
        flag=$1 var=${flags[$1]:-}
        if [ -z "$var" ]; then echo "$name: unknown argument '$flag' (see --help)" >&2; exit 2; fi
        printf -v "$var" 1
        shift ;;
    esac
  done
}

# bench_rounds SYSTEM...: calls the script's `run SYSTEM DEVICES ROUND` for
# each of $rounds rounds and each number of devices in $concurrency (a
# comma-separated list), the systems in an order that rotates each round.
bench_rounds() {
  local systems=("$@") n=$# r c i sys levels
  IFS=, read -r -a levels <<<"$concurrency"
  for r in $(seq 1 "$rounds"); do
    for c in "${levels[@]}"; do
      for i in $(seq 0 $((n - 1))); do
        sys=${systems[$(( (i + r - 1) % n ))]}
        log "round $r of $rounds, $c devices: $sys"
        run "$sys" "$c" "$r"
      done
    done
  done
}

# bench_machine_line: date, CPU, cores, the load average at the start
# ($load_start) and now, and the commit, for a summary's first line.
bench_machine_line() {
  echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ); machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
       "$(nproc) cores, load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
       "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}
