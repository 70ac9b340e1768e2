#!/bin/bash
# bench-delivery.sh - end-to-end delivery throughput, ours beside the
# reference, in one run, through the shared harness
# (../shared/bench/bench_smtp_throughput.sh):
#   discard   smtp-source, 10 sessions -> smtpd -> cleanup -> qmgr -> discard(8)
#   sink      the same, then smtp(8) -> smtp-sink on loopback
#   sendmail  sequential sendmail -> postdrop -> pickup -> cleanup -> qmgr -> discard(8)
# Figures are messages per second from the first submission until the
# queue is empty and the maillog has one status=sent line per message.
# We have no smtpd yet: for the two SMTP variants our side is a daemon
# directory of our daemons with the reference's smtpd, anvil, proxymap,
# scache and tlsmgr linked in, so both sides share the SMTP front end and
# differ in everything after it (cleanup, trivial-rewrite, qmgr, the
# delivery agents, master, postlogd). The sendmail variant is ours end to
# end. Sides alternate per variant (ref, ours / ours, ref). Knobs: the
# harness's (M, SESSIONS, SENDMAIL_M, TP_RUNS, ...), VARIANTS.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH_DIR:-$repo/../shared/bench}
REF_SBIN=${REF_SBIN:-/usr/sbin}
REF_LIBEXEC=${REF_LIBEXEC:-/usr/lib/postfix/sbin}
OUR_SBIN=${OUR_SBIN:-$repo/out/sbin}
OUR_LIBEXEC=${OUR_LIBEXEC:-$repo/out/libexec/postfix}
VARIANTS=${VARIANTS:-discard sink sendmail}
[ -x "$bench/bench_smtp_throughput.sh" ] || { echo "bench-delivery: $bench/bench_smtp_throughput.sh not found" >&2; exit 1; }
W=$(mktemp -d /tmp/bench-delivery.XXXXXX)
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT

# Our daemons, with the reference's for the services we do not have yet.
mkdir -p "$W/libexec"
for f in "$REF_LIBEXEC"/*; do
    n=$(basename "$f")
    if [ -e "$OUR_LIBEXEC/$n" ]; then ln -s "$OUR_LIBEXEC/$n" "$W/libexec/$n"; else ln -s "$f" "$W/libexec/$n"; fi
done

run() { # SIDE VARIANT -> "name value" lines
    local side=$1 v=$2 sbin=$REF_SBIN dir=$REF_LIBEXEC
    [ "$side" = ours ] && { sbin=$OUR_SBIN; dir=$W/libexec; }
    SBIN=$sbin DAEMON_DIR=$dir "$bench/bench_smtp_throughput.sh" "$v" 2>"$W/$side.$v.err" | awk '!/^#/ {print $1, $2}'
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "bench-delivery: $side $v failed:" >&2; tail -5 "$W/$side.$v.err" >&2; }
}

declare -A R
i=0
for v in $VARIANTS; do
    order="ref ours"; [ $((i % 2)) = 1 ] && order="ours ref"; i=$((i + 1))
    for s in $order; do
        echo "bench-delivery: $v, $s" >&2
        while read -r name value; do R[$s.$name]=$value; done < <(run "$s" "$v")
    done
done

echo "| figure | reference | ours | ours/ref | unit | better |"
echo "|---|---|---|---|---|---|"
for k in "${!R[@]}"; do
    case $k in ref.*) ;; *) continue;; esac
    name=${k#ref.}
    r=${R[ref.$name]}; o=${R[ours.$name]:-}
    [ -n "$o" ] || continue
    printf '| %s | %.1f | %.1f | %.2f | msg/s | higher |\n' "$name" "$r" "$o" "$(echo "$o / $r" | bc -l)"
done | LC_ALL=C sort
