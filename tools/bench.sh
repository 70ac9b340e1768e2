#!/bin/bash
# bench.sh - run the shared benchmark harness on the reference Postfix and on
# our build, alternating them, and print the figures side by side.
#
#   sh tools/bench.sh                 (what "make bench" runs)
#   BENCHES=postconf ROUNDS=5 sh tools/bench.sh
#   OUR_SBIN=/tmp/x/sbin PC_N=20 PC_N2=5 ROUNDS=1 sh tools/bench.sh   (dry run)
#
# For every selected benchmark, ROUNDS rounds are run; each round runs the
# harness script once for the reference and once for ours, swapping the
# order every round (ref, ours / ours, ref / ...) so that a drift in the
# machine's load hits both builds alike.  Each harness call takes the median
# of RUNS repetitions; the table shows the median over the rounds.
#
# Environment (all optional):
#   BENCH_DIR   the harness (default: ../shared/bench beside the repository)
#   OUR_SBIN    our commands (default: out/sbin of this repository)
#   REF_SBIN    the reference's commands (default /usr/sbin)
#   DAEMON_DIR  daemons for both builds (default /usr/lib/postfix/sbin: the
#               postconf and postmap benchmarks start no daemon)
#   BENCHES     which benchmarks (default: postconf, plus postmap when
#               OUR_SBIN/postmap exists)
#   ROUNDS      alternation rounds (default 3);  RUNS  repetitions per
#               harness call (default 1)
#   HELLO_BIN   optional: a do-nothing program (e.g. a NativeAOT hello world)
#               timed with the same loop as "postconf -h", for the start-up floor
#   RESULTS     directory for the raw output (default: a new /tmp/bench.XXXXXX)
#   Harness knobs (PC_N, PC_N2, POSTMAP_N, POSTMAP_Q, POSTMAP_STREAM,
#   MAP_TYPES, BENCH_TMP, ...) are passed through.
#
# stdout: the table (markdown, also saved as RESULTS/table.md); stderr:
# progress.  Exit 1 when a harness call failed (its row shows BENCH-failed).
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$repo/../shared/bench}
OUR_SBIN=${OUR_SBIN:-$repo/out/sbin}
REF_SBIN=${REF_SBIN:-/usr/sbin}
DAEMON_DIR=${DAEMON_DIR:-/usr/lib/postfix/sbin}
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-1}
export RUNS DAEMON_DIR

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "bench: $*"; exit 1; }

[ -d "$BENCH_DIR" ] || die "no harness at $BENCH_DIR (set BENCH_DIR)"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
case $OUR_SBIN in /*) ;; *) OUR_SBIN=$(cd "$OUR_SBIN" && pwd) ;; esac
[ -x "$OUR_SBIN/postconf" ] || die "$OUR_SBIN/postconf not found (make commands, or set OUR_SBIN)"
[ -x "$REF_SBIN/postconf" ] || die "reference $REF_SBIN/postconf not found (set REF_SBIN)"

if [ -z "${BENCHES:-}" ]; then
    BENCHES=postconf
    [ -x "$OUR_SBIN/postmap" ] && BENCHES="$BENCHES postmap"
fi

RESULTS=${RESULTS:-$(mktemp -d /tmp/bench.XXXXXX)}
mkdir -p "$RESULTS"

# The harness insists on finding "postfix" next to postconf (check_tools),
# although the postconf and postmap benchmarks never run it.  Give our
# commands a directory of their own where "postfix" is the reference's, so
# the check passes; every command the benchmarks do run is ours.
ours=$RESULTS/ours-sbin
mkdir -p "$ours"
for c in "$OUR_SBIN"/*; do
    [ -f "$c" ] && [ -x "$c" ] && ln -sf "$c" "$ours/$(basename "$c")"
done
[ -e "$ours/postfix" ] || ln -sf "$REF_SBIN/postfix" "$ours/postfix"

# one BUILD BENCH ROUND -> appends "ROUND NAME VALUE UNIT" to $RESULTS/BUILD.txt
one() {
    local build=$1 b=$2 round=$3 sbin out rc
    case $build in ref) sbin=$REF_SBIN ;; *) sbin=$ours ;; esac
    out=$RESULTS/$build-$b-$round.out
    log "round $round: $b, $build"
    SBIN=$sbin "$BENCH_DIR/bench_$b.sh" > "$out" 2>> "$RESULTS/$build-$b.log"
    rc=$?
    [ "$rc" = 0 ] || { log "  $b ($build) FAILED, exit $rc; see $RESULTS/$build-$b.log"; failed=$((failed + 1)); }
    awk -v r="$round" '!/^#/ && NF >= 3 { print r, $1, $2, $3 }' "$out" >> "$RESULTS/$build.txt"
    [ "$rc" = 0 ] || echo "$round $b-failed 1 flag" >> "$RESULTS/$build.txt"
}

# loop_ms N CMD... -> ms per call of N sequential runs (the harness's method)
loop_ms() {
    local n=$1 i t0 t1; shift
    t0=$(date +%s.%N)
    for i in $(seq "$n"); do "$@" >/dev/null 2>&1; done
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.6g", 1000 * (b - a) / n }'
}

failed=0
: > "$RESULTS/ref.txt"; : > "$RESULTS/ours.txt"
log "results in $RESULTS; benches: $BENCHES; rounds $ROUNDS x RUNS $RUNS"
for b in $BENCHES; do
    [ -x "$BENCH_DIR/bench_$b.sh" ] || die "no benchmark $BENCH_DIR/bench_$b.sh"
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then one ref "$b" "$r"; one ours "$b" "$r"
        else one ours "$b" "$r"; one ref "$b" "$r"; fi
    done
done
if [ -n "${HELLO_BIN:-}" ]; then
    n=${PC_N:-200}
    for r in $(seq "$ROUNDS"); do
        log "round $r: start-up floor, $HELLO_BIN"
        echo "$r hello_floor $(loop_ms "$n" "$HELLO_BIN") ms/call" >> "$RESULTS/ours.txt"
    done
fi

# The table: median over rounds per figure; "ours/ref" is the ratio of the
# two medians, "paired" the median of the per-round ratios (less sensitive
# to load drift).  "better" says which direction wins: lower for times,
# higher for rates, equal for counts.
{
    echo "# date $(date -u +%Y-%m-%dT%H:%M:%SZ) host $(hostname) cores $(nproc)"
    echo "# reference $REF_SBIN ($("$REF_SBIN/postconf" -d -h mail_version 2>/dev/null || echo '?'))," \
         "ours $OUR_SBIN; rounds $ROUNDS x RUNS $RUNS; raw output $RESULTS"
} >&2
awk '
    function median(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function fmt(v) { return (v >= 1000) ? sprintf("%.0f", v) : sprintf("%.4g", v) }
    FNR == 1 { build = (FILENAME ~ /ours\.txt$/) ? "ours" : "ref" }
    {
        key = $2
        if (!(key in seen)) { seen[key] = 1; order[++n] = key; unit[key] = $4 }
        v[build, key] = v[build, key] " " $3
        per[build, key, $1] = $3; rounds[$1] = 1
    }
    END {
        print "| figure | unit | reference | ours | ours/ref | paired | better |"
        print "|---|---|---|---|---|---|---|"
        for (i = 1; i <= n; i++) {
            k = order[i]
            if (k ~ /-failed$/) { printf "| %s | | | | | | |\n", k; continue }
            # paired: median of the per-round ratios (each round ran both builds back to back)
            pr = ""
            for (rr in rounds)
                if ((("ref", k, rr) in per) && (("ours", k, rr) in per) && per["ref", k, rr] + 0 != 0)
                    pr = pr " " (per["ours", k, rr] / per["ref", k, rr])
            paired = (pr == "") ? "-" : sprintf("%.2f", median(pr))
            r = ((("ref", k) in v)) ? median(v["ref", k]) : ""
            o = ((("ours", k) in v)) ? median(v["ours", k]) : ""
            u = unit[k]
            dir = (u ~ /\/s$/) ? "higher" : (u == "params") ? "equal" : "lower"
            ratio = (r != "" && o != "" && r + 0 != 0) ? sprintf("%.2f", o / r) : "-"
            printf "| %s | %s | %s | %s | %s | %s | %s |\n", k, u,
                (r == "" ? "-" : fmt(r)), (o == "" ? "-" : fmt(o)), ratio, paired, dir
        }
    }' "$RESULTS/ref.txt" "$RESULTS/ours.txt" | tee "$RESULTS/table.md"
exit $(( failed > 0 ))
