#!/bin/bash
# bench-core.sh - the mail core, ours beside the reference, in one run:
#   sendmail_rate      N sequential "sendmail" submissions until all N are
#                      in incoming/ (postdrop, pickup, cleanup, rewrite)  msg/s
#   postqueue_p_time   "postqueue -p" on QN queued messages (via showq)   s
#   postqueue_j_time   "postqueue -j" on the same queue                  s
#   idle_rss / idle_pss  master and its idle children after the runs    KiB
# Each side is a private instance (loopback only, no qmgr) started with
# its own postfix(1) and daemons; the QN messages are copies of one queue
# file under fresh queue IDs, so both sides list the same queue. Rounds
# alternate the order (ref, ours / ours, ref / ...); medians are printed.
# Knobs: N (300) QN (10000) ROUNDS (3). Needs root and the postfix user.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-300}
QN=${QN:-10000}
ROUNDS=${ROUNDS:-3}
REF_SBIN=${REF_SBIN:-/usr/sbin}
REF_LIBEXEC=${REF_LIBEXEC:-/usr/lib/postfix/sbin}
OUR_SBIN=${OUR_SBIN:-$repo/out/sbin}
OUR_LIBEXEC=${OUR_LIBEXEC:-$repo/out/libexec/postfix}
W=$(mktemp -d /tmp/bench-core.XXXXXX)
chmod 755 "$W"
trap 'for s in ref ours; do [ -d "$W/$s" ] && "$(sbin $s)/postfix" -c "$W/$s/conf" stop >/dev/null 2>&1; done; rm -rf "$W"' EXIT

sbin() { if [ "$1" = ref ]; then echo "$REF_SBIN"; else echo "$OUR_SBIN"; fi; }
libexec() { if [ "$1" = ref ]; then echo "$REF_LIBEXEC"; else echo "$OUR_LIBEXEC"; fi; }
now() { date +%s.%N; }
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

setup() {
    local s=$1 d=$W/$1
    rm -rf "$d"; mkdir -p "$d/conf" "$d/q" "$d/data"; chown postfix "$d/data"
    cat >"$d/conf/main.cf" <<EOF
queue_directory = $d/q
data_directory = $d/data
daemon_directory = $(libexec "$s")
command_directory = $(sbin "$s")
maillog_file = $d/maillog
maillog_file_prefixes = $d
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = bench.example.com
mydestination =
# No queue manager hands out mail flow tokens here: without this, cleanup
# would pause a second per message on both sides.
in_flow_delay = 0
EOF
    cat >"$d/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
showq     unix  n       -       n       -       -       showq
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    touch -d '1 minute ago' "$d/conf/main.cf" "$d/conf/master.cf"
    "$(sbin "$s")/postfix" -c "$d/conf" start >/dev/null 2>&1 || { echo "bench: $s does not start" >&2; exit 1; }
}

count() { find "$W/$1/q/incoming" "$W/$1/q/hold" -type f 2>/dev/null | wc -l; }

submit() {
    local s=$1 d=$W/$1 i t0 t1
    t0=$(now)
    for i in $(seq "$N"); do
        printf 'Subject: bench %s\n\nbody\n' "$i" | "$(sbin "$s")/sendmail" -C "$d/conf" -f a@example.com b@example.net
    done
    while [ "$(count "$s")" -lt "$N" ]; do sleep 0.05; done
    t1=$(now)
    echo "$N / ($t1 - $t0)" | bc -l
}

# fill S - QN copies of one queue file in hold/, named as queue IDs.
fill() {
    local s=$1 d=$W/$1 src
    src=$(find "$d/q/incoming" -type f | head -1)
    python3 - "$src" "$d/q/hold" "$QN" <<'EOF'
import os, shutil, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    name = "%05X%06X" % (0xB0000 + i // 4096, i)
    p = os.path.join(dst, name)
    shutil.copyfile(src, p)
    os.chmod(p, 0o700)
EOF
    chown -R postfix "$d/q/hold"
}

listing() {
    local s=$1 opt=$2 t0 t1
    t0=$(now)
    "$(sbin "$s")/postqueue" -c "$W/$s/conf" "$opt" >"$W/$s.list" || echo "bench: postqueue $opt failed on $s" >&2
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

memory() {
    local s=$1 pid pids rss=0 pss=0 p
    pid=$(tr -d ' ' <"$W/$s/q/pid/master.pid")
    pids="$pid $(ps --ppid "$pid" -o pid= | tr '\n' ' ')"
    for p in $pids; do
        rss=$((rss + $(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
        pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
    done
    echo "$rss $pss $(echo "$pids" | wc -w)"
}

declare -A R
for round in $(seq "$ROUNDS"); do
    order="ref ours"; [ $((round % 2)) = 0 ] && order="ours ref"
    for s in $order; do
        echo "round $round: $s" >&2
        setup "$s"
        R[$s.rate]="${R[$s.rate]:-} $(submit "$s")"
        fill "$s"
        "$(sbin "$s")/postqueue" -c "$W/$s/conf" -p >/dev/null
        R[$s.p]="${R[$s.p]:-} $(listing "$s" -p)"
        tail -1 "$W/$s.list" | grep -q "in $((QN + N)) Requests\.$" || echo "bench: $s -p: $(tail -1 "$W/$s.list")" >&2
        R[$s.j]="${R[$s.j]:-} $(listing "$s" -j)"
        [ "$(wc -l <"$W/$s.list")" = $((QN + N)) ] || echo "bench: $s -j: $(wc -l <"$W/$s.list") lines" >&2
        sleep 2
        read -r rss pss procs <<<"$(memory "$s")"
        R[$s.rss]="${R[$s.rss]:-} $rss"
        R[$s.pss]="${R[$s.pss]:-} $pss"
        R[$s.procs]="${R[$s.procs]:-} $procs"
        "$(sbin "$s")/postfix" -c "$W/$s/conf" stop >/dev/null 2>&1
        sleep 1
    done
done

row() {
    local name=$1 key=$2 unit=$3 better=$4 r o
    r=$(echo "${R[ref.$key]}" | med); o=$(echo "${R[ours.$key]}" | med)
    printf '| %s | %.3f | %.3f | %.2f | %s | %s |\n' "$name" "$r" "$o" "$(echo "$o / $r" | bc -l)" "$unit" "$better"
}
echo "| figure | reference | ours | ours/ref | unit | better |"
echo "|---|---|---|---|---|---|"
row "sendmail_rate ($N sequential submissions into incoming/)" rate msg/s higher
row "postqueue_p_time ($((QN + N)) queued)" p s lower
row "postqueue_j_time ($((QN + N)) queued)" j s lower
row "idle_rss (master + idle children)" rss KiB lower
row "idle_pss (master + idle children)" pss KiB lower
row "idle processes" procs count -
