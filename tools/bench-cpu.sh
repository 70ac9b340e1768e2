#!/bin/bash
# bench-cpu.sh - CPU per message of every process of an instance, ours
# beside the reference, through the shared harness's instance set-up
# (../shared/bench/lib.sh): one instance per side with max_use = 100000
# (so that no process exits and takes its counters with it), a warm-up,
# then M messages from smtp-source (SESSIONS sessions, SIZE bytes) to the
# discard transport. utime+stime of each process from /proc before and
# after, summed by program name, and the CPU of processes that ended
# meanwhile (the master's cutime/cstime) as "(ended)"; prints ms of CPU
# per message.
# Knobs: M (1000) WARMUP_M (200) SESSIONS (10) SIZE (5000) ROUNDS (2)
#        MAX_USE (100000), SIDES ("ref ours"), OUR_SBIN, OUR_LIBEXEC, REF_SBIN, REF_LIBEXEC.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH_DIR:-$repo/../shared/bench}
REF_SBIN=${REF_SBIN:-/usr/sbin}
REF_LIBEXEC=${REF_LIBEXEC:-/usr/lib/postfix/sbin}
OUR_SBIN=${OUR_SBIN:-$repo/out/sbin}
OUR_LIBEXEC=${OUR_LIBEXEC:-$repo/out/libexec/postfix}
M=${M:-1000} WARMUP_M=${WARMUP_M:-200} SESSIONS=${SESSIONS:-10} SIZE=${SIZE:-5000}
ROUNDS=${ROUNDS:-2} SIDES=${SIDES:-ref ours} TIMEOUT=${TIMEOUT:-300} MAX_USE=${MAX_USE:-100000}
. "$bench/lib.sh"
trap pf_cleanup EXIT

# ticks PIDS... -> "name ticks" per process (name: /proc comm, which is
# the name the daemon was started under, for ours the multi-call link)
ticks() {
    local p
    for p in "$@"; do
        awk '{ sub(/^[^(]*\(/, ""); name = $0; sub(/\).*/, "", name); sub(/^[^)]*\) /, "")
               print name, $12 + $13
               # children of the master that ended: their CPU is in its cutime/cstime
               if (name == "master") print "(ended)", $14 + $15 }' "/proc/$p/stat" 2>/dev/null | sed "s/^/$p /"
    done
}

send() {
    timeout "$TIMEOUT" "$SMTP_SOURCE" -s "$SESSIONS" -m "$1" -l "$SIZE" \
        -f bench@example.com -t sink@example.net "127.0.0.1:$SMTP_PORT" >/dev/null
    wait_empty "$TIMEOUT" || die "queue not empty"
}

hz=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
    for side in $SIDES; do
        SBIN=$REF_SBIN DAEMON_DIR=$REF_LIBEXEC
        [ "$side" = ours ] && { SBIN=$OUR_SBIN DAEMON_DIR=$OUR_LIBEXEC; }
        pf_setup
        pf_set max_use "$MAX_USE"
        pf_set default_transport discard
        pf_start
        send "$WARMUP_M"
        sleep 1
        pids=$(pf_pids)
        before=$(ticks $pids)
        t0=$(now)
        send "$M"
        t1=$(now)
        after=$(ticks $(pf_pids))
        echo "## round $r, $side: $M messages in $(elapsed "$t0" "$t1") s, load $(cut -d' ' -f1 /proc/loadavg)"
        join -a 2 <(echo "$before" | sort) <(echo "$after" | sort) | awk -v m="$M" -v hz="$hz" '
            NF == 5 { d = $5 - $3 } NF == 3 { d = $3 }   # a process that started during the run counts whole
            { ms[$2] += d * 1000 / hz / m; all += d * 1000 / hz / m; np[$2]++ }
            END { for (n in ms) printf "%-16s %.3f  (%d processes)\n", n, ms[n], np[n]; printf "%-16s %.3f\n", "ALL", all }' | sort
        pf_cleanup
    done
done
