#!/bin/bash
# bench-smtpd.sh - smtpd(8) figures, ours beside the reference, in one run.
# Both sides are throwaway instances of the shared harness
# (../shared/bench/lib.sh) run by the reference's programs; our side has
# OUR smtpd linked into its daemon directory instead of the reference's,
# so the two differ in smtpd only.
#   throughput   smtp-source, SESSIONS (10) parallel sessions, M messages of
#                SIZE bytes -> smtpd -> cleanup -> qmgr -> discard, through
#                the shared bench_smtp_throughput.sh (variant discard):
#                smtp_submit_rate_discard = messages/s accepted over SMTP
#                into the queue; smtp_throughput_discard = until the queue
#                is empty.
#   concurrency  CONC_N (500) sessions opened (greeting + EHLO) and held
#                idle; then the RSS of every smtpd process of the instance
#                is summed and divided by the sessions (the reference runs
#                one process per session, ours many sessions per process on
#                threads: the sum over processes is fair to both), with the
#                instance's total RSS growth per session beside it, and the
#                time to open the sessions. PSS (shared pages split between
#                the processes that map them) per session is shown as well.
# Sides alternate (ref, ours / ours, ref) over ROUNDS rounds; figures are
# medians. Output: a markdown table (figure, reference, ours, ours/ref).
# Every step is bounded (TIMEOUT, CONC_TIMEOUT). Needs root, the postfix
# user, smtp-source, python3. Knobs: M (1000), SIZE (5000), SESSIONS (10),
# TP_RUNS (3), CONC_N (500), ROUNDS (2), SMTP_PORT (2525), PARTS
# ("throughput concurrency").
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH_DIR:-$repo/../shared/bench}
[ -f "$bench/lib.sh" ] || bench=/work/shared/bench
REF_SBIN=${REF_SBIN:-/usr/sbin}
REF_LIBEXEC=${REF_LIBEXEC:-/usr/lib/postfix/sbin}
OUR_LIBEXEC=${OUR_LIBEXEC:-$repo/out/libexec/postfix}
export M=${M:-1000} SIZE=${SIZE:-5000} SESSIONS=${SESSIONS:-10} TP_RUNS=${TP_RUNS:-3} WARMUP_M=${WARMUP_M:-100}
export TIMEOUT=${TIMEOUT:-120}
CONC_N=${CONC_N:-500}
CONC_TIMEOUT=${CONC_TIMEOUT:-120}
ROUNDS=${ROUNDS:-2}
PARTS=${PARTS:-throughput concurrency}
[ -x "$bench/bench_smtp_throughput.sh" ] || { echo "bench-smtpd: $bench/bench_smtp_throughput.sh not found" >&2; exit 1; }
[ -x "$OUR_LIBEXEC/smtpd" ] || { echo "bench-smtpd: $OUR_LIBEXEC/smtpd not found (make daemons)" >&2; exit 1; }
W=$(mktemp -d /tmp/bench-smtpd.XXXXXX)
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT

# The reference's daemons with our smtpd.
mkdir -p "$W/libexec"
for f in "$REF_LIBEXEC"/*; do ln -s "$f" "$W/libexec/$(basename "$f")"; done
ln -sf "$OUR_LIBEXEC/smtpd" "$W/libexec/smtpd"

side_dir() { if [ "$1" = ref ]; then echo "$REF_LIBEXEC"; else echo "$W/libexec"; fi; }

# throughput SIDE -> "name value" lines
throughput() {
    SBIN=$REF_SBIN DAEMON_DIR=$(side_dir "$1") "$bench/bench_smtp_throughput.sh" discard 2>"$W/$1.tp.err" \
        | awk '!/^#/ {print $1, $2}'
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "bench-smtpd: throughput $1 failed:" >&2; tail -5 "$W/$1.tp.err" >&2; }
}

# The session holder: opens N sessions (greeting, EHLO), prints "ready N
# SECONDS", waits for a line on stdin, then QUITs them all.
cat >"$W/hold.py" <<'EOF'
import socket, sys, time
port, n, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic(); socks = []; files = []
def line(f):
    s = f.readline()
    return s.decode('latin-1') if s else ''
try:
    for i in range(n):
        s = socket.create_connection(('127.0.0.1', port), timeout=limit); socks.append(s)
    for s in socks:
        f = s.makefile('rb')
        if not line(f).startswith('220'): break
        s.sendall(b'EHLO bench.example\r\n')
        while True:
            l = line(f)
            if not l.startswith('250-'): break
        if not l.startswith('250 '): break
        if time.monotonic() - t0 > limit: break
        files.append(f)
except OSError as e:
    print('# ' + str(e), file=sys.stderr)
ok = len(files)
print('ready %d %.3f' % (ok, time.monotonic() - t0), flush=True)
sys.stdin.readline()
for s in socks:
    try: s.sendall(b'QUIT\r\n'); s.close()
    except OSError: pass
EOF

# concurrency SIDE -> "name value" lines
concurrency() (
    DAEMON_DIR=$(side_dir "$1") SBIN=$REF_SBIN
    . "$bench/lib.sh"
    ulimit -n $((CONC_N + 200)) 2>/dev/null
    trap 'pf_cleanup' EXIT
    pf_setup $((CONC_N + 50)) >/dev/null 2>&1
    pf_set default_process_limit $((CONC_N + 50))
    pf_start 2>/dev/null
    sleep 2
    local pids idle smtpd_rss smtpd_pss total busy_total n t p nproc
    pids=$(pf_pids); idle=$(rss_kb $pids)
    coproc HOLD { timeout $((CONC_TIMEOUT + 30)) python3 "$W/hold.py" "$SMTP_PORT" "$CONC_N" "$CONC_TIMEOUT" 2>"$W/$1.hold.err"; }
    local hold_in=${HOLD[0]} hold_out=${HOLD[1]}
    read -r _ n t <&"$hold_in"
    sleep 2
    pids=$(pf_pids)
    busy_total=$(rss_kb $pids)
    smtpd_rss=0; smtpd_pss=0; nproc=0
    for p in $pids; do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = smtpd ] || continue
        smtpd_rss=$((smtpd_rss + $(rss_kb "$p"))); smtpd_pss=$((smtpd_pss + $(pss_kb "$p"))); nproc=$((nproc + 1))
    done
    echo >&"$hold_out" 2>/dev/null
    wait "$HOLD_PID" 2>/dev/null
    echo "smtpd_sessions_open ${n:-0}"
    echo "smtpd_session_setup_time ${t:-0}"
    echo "smtpd_processes $nproc"
    [ "${n:-0}" -gt 0 ] || return 0
    echo "smtpd_rss_per_session $(awk -v a="$smtpd_rss" -v n="$n" 'BEGIN { printf "%.1f", a / n }')"
    echo "smtpd_pss_per_session $(awk -v a="$smtpd_pss" -v n="$n" 'BEGIN { printf "%.1f", a / n }')"
    echo "instance_rss_growth_per_session $(awk -v a="$busy_total" -v b="$idle" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }')"
)

declare -A R
for round in $(seq "$ROUNDS"); do
    order="ref ours"; [ $((round % 2)) = 0 ] && order="ours ref"
    for part in $PARTS; do
        for s in $order; do
            echo "bench-smtpd: round $round, $part, $s" >&2
            while read -r name value; do
                R[$s.$name]="${R[$s.$name]:-} $value"
            done < <("$part" "$s")
        done
    done
done

med() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
unit() {
    case $1 in
        *rate*|*throughput*) echo "msg/s higher" ;;
        *per_session) echo "KiB lower" ;;
        *setup_time) echo "s lower" ;;
        *) echo "count -" ;;
    esac
}
echo "| figure | reference | ours | ours/ref | unit | better |"
echo "|---|---|---|---|---|---|"
for k in "${!R[@]}"; do
    case $k in ref.*) ;; *) continue;; esac
    name=${k#ref.}
    r=$(med "${R[ref.$name]}"); o=$(med "${R[ours.$name]:-}")
    [ -n "$o" ] && [ -n "$r" ] || continue
    set -- $(unit "$name")
    ratio=$(awk -v o="$o" -v r="$r" 'BEGIN { if (r == 0) print "-"; else printf "%.2f", o / r }')
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$r" "$o" "$ratio" "$1" "$2"
done | LC_ALL=C sort
echo
echo "runs (ref | ours):"
for k in "${!R[@]}"; do case $k in ref.*) echo "  ${k#ref.}:${R[$k]} |${R[ours.${k#ref.}]:-}";; esac; done | LC_ALL=C sort
