#!/usr/bin/env bash
# run-all.sh - run every compat suite (suites/*.sh) against the reference
# Postfix and our build; print "N passed, N failed" and exit non-zero on
# any difference. SUITES="postconf postmap" selects suites.
#
# Suites run in COMPAT_JOBS parallel lanes (default 3; most suites wait on
# daemons and sleeps rather than on the CPU). Each lane takes the next job
# from one queue, longest first (SUITE_SECONDS: times of a recent run), so
# the lanes end close together. A job is one suite, or one of the
# SERIAL_GROUPS of suites that share fixed loopback ports and so run one
# after another (every other suite keeps to ports of its own). Every suite gets its own temporary
# directory and runs in a subshell; its output is shown when it ends.
# COMPAT_JOBS=1 runs everything in this shell, in file order.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
trap 'rm -rf "$COMPAT_TMP"' EXIT
if [ ! -x "$REF_SBIN/postconf" ]; then
    echo "compat: the reference Postfix is not installed ($REF_SBIN/postconf); run tools/install-deps.sh" >&2
    exit 1
fi

# The suites' fixed loopback ports 42000-42999 lie in the kernel's
# ephemeral range: a client connection of another suite may have been
# given one of them as its local port, and while it lingers in TIME_WAIT
# a master cannot bind that port (a minute of "cannot start"). Keep the
# kernel from handing them out while the suites run, when we may.
reserved_ports=/proc/sys/net/ipv4/ip_local_reserved_ports
reserved_set=
if [ -w "$reserved_ports" ] && saved_reserved=$(cat "$reserved_ports" 2>/dev/null) \
    && echo "${saved_reserved:+$saved_reserved,}42000-42999" 2>/dev/null >"$reserved_ports"; then
    reserved_set=1
    trap 'rm -rf "$COMPAT_TMP"; echo "$saved_reserved" >"$reserved_ports"' EXIT
fi

# Suites that must not run at the same time as each other, each group
# one job: qmgr's and smtpd-sasl's fixed ports overlap (42625, 42626);
# the smtp client suites share a port scheme (26xNN) and test domains.
SERIAL_GROUPS="qmgr,smtpd-sasl smtp,smtp-tls,scache"
# Seconds each suite took in a recent run (unknown suites count 30).
SUITE_SECONDS="smtpd:183 milter:174 postfix-control:157 bounce:156 compat-run:94 trivial-rewrite:83
    submit:63 cleanup:62 postmap-patterns:49 anvil:40 master:40 smtpd-restrict:39 postscreen:33
    attr:32 flush:31 smtp:90 pipe:30 swap:30 postqueue:27 postsuper:26 qmgr:45 core:20 delivery:19
    deliver-basic:16 local:13 virtual:13 smtpd-sasl:11 lmtp-dovecot:8 verify-cache:6
    postcat:284 postmap:101 postconf-master:76 postconf-templates:68 postconf:37 postconf-edit:28
    postfix-hooks:25 postalias:19"

selected() {
    [ -z "${SUITES:-}" ] && return 0
    case " $SUITES " in *" $1 "*) return 0;; esac
    return 1
}

suite_seconds() {
    local e
    for e in $SUITE_SECONDS; do
        [ "${e%%:*}" = "$1" ] && { echo "${e#*:}"; return; }
    done
    echo 30
}

# run_suite NAME - source one suite in this shell, with its timing.
# Its locals have names no suite uses (suites set n, s and the like).
run_suite() {
    local _suite=$1 _pass0=$PASS _fail0=$FAIL _start=$SECONDS
    echo "== suite $_suite"
    . "$here/suites/$_suite.sh"
    echo "== suite $_suite: $((PASS - _pass0)) passed, $((FAIL - _fail0)) failed ($((SECONDS - _start)) s)"
}

all_suites=
for s in "$here"/suites/*.sh; do
    n=$(basename "$s" .sh)
    selected "$n" && all_suites="$all_suites $n"
done

# src/attrprobe, built once (in the background) for the suites that use
# it; they wait for it (attrprobe_wait).
if [ -z "${ATTRPROBE:-}" ] && command -v dotnet >/dev/null; then
    for n in $all_suites; do
        grep -q attrprobe_wait "$here/suites/$n.sh" || continue
        ATTRPROBE_BUILD=$COMPAT_TMP/attrprobe
        mkdir -p "$ATTRPROBE_BUILD"
        (
            dotnet build "$here/../src/attrprobe/attrprobe.csproj" --artifacts-path "$ATTRPROBE_BUILD" \
                --nologo -v quiet -clp:ErrorsOnly >"$ATTRPROBE_BUILD/log" 2>&1
            echo $? >"$ATTRPROBE_BUILD/status"
        ) &
        attrprobe_pid=$!
        export ATTRPROBE=$ATTRPROBE_BUILD/bin/attrprobe/debug/attrprobe ATTRPROBE_BUILD
        break
    done
fi

if [ "${COMPAT_JOBS:-3}" -le 1 ]; then
    for n in $all_suites; do run_suite "$n"; done
else
    # Short names: instance sockets live below these directories.
    res=$COMPAT_TMP/r
    mkdir -p "$res" "$COMPAT_TMP/l"
    chmod 711 "$COMPAT_TMP" "$COMPAT_TMP/l"
    # The jobs, one a line ("SECONDS NAME..."), longest first.
    grouped=
    {
        for g in $SERIAL_GROUPS; do
            t=0 job=
            for n in ${g//,/ }; do
                case " $all_suites " in *" $n "*) ;; *) continue;; esac
                t=$((t + $(suite_seconds "$n"))) job="$job $n"
            done
            [ -n "$job" ] && echo "$t$job"
            grouped="$grouped $job"
        done
        for n in $all_suites; do
            case " $grouped " in *" $n "*) continue;; esac
            echo "$(suite_seconds "$n") $n"
        done
    } | sort -k1,1nr >"$res/queue"

    # lane_next - take the first job off the queue (under a lock).
    lane_next() {
        {
            flock 9
            head -n 1 "$res/queue"
            sed -i 1d "$res/queue"
        } 9>>"$res/queue.lock"
    }

    # lane_suite NAME - one suite in a subshell; NAME.result holds its
    # counts, NAME.done says it has ended (a suite that exits early has
    # no result and counts as failed).
    # (Its variables have names no suite sets: compat-run.sh sets n.)
    lane_suite() {
        local _lane_suite=$1 _lane_res=$res
        (
            PASS=0 FAIL=0 FAILED_NAMES=
            COMPAT_TMP=$COMPAT_TMP/l/$_lane_suite
            mkdir -p "$COMPAT_TMP"
            chmod 711 "$COMPAT_TMP"
            run_suite "$_lane_suite" >"$_lane_res/$_lane_suite.log" 2>&1
            echo "$PASS $FAIL $FAILED_NAMES" >"$_lane_res/$_lane_suite.result"
            rm -rf "$COMPAT_TMP"
        ) </dev/null
        : >"$_lane_res/$_lane_suite.done"
    }

    # A lane marks its end in lane-N.end; one that was killed leaves no
    # mark, and its PID then shows whether it is still there.
    lanes=
    for i in $(seq 1 "${COMPAT_JOBS:-3}"); do
        (
            while _lane_job=$(lane_next) && [ -n "$_lane_job" ]; do
                for _lane_n in ${_lane_job#* }; do lane_suite "$_lane_n"; done
            done
            : >"$res/lane-$i.end"
        ) &
        lanes="$lanes $i:$!"
    done

    # Show each suite's output as it ends; add up the counts.
    shown=
    while :; do
        # (Looked at before the scan: a lane gone then has marked its end.)
        alive=
        for l in $lanes; do
            [ -f "$res/lane-${l%%:*}.end" ] || ! kill -0 "${l#*:}" 2>/dev/null || alive=1
        done
        left=0
        for n in $all_suites; do
            case " $shown " in *" $n "*) continue;; esac
            if [ ! -f "$res/$n.done" ]; then left=$((left + 1)); continue; fi
            shown="$shown $n"
            cat "$res/$n.log"
            if [ -f "$res/$n.result" ]; then
                read -r p f names <"$res/$n.result"
                PASS=$((PASS + p)) FAIL=$((FAIL + f))
                [ -n "$names" ] && FAILED_NAMES="$FAILED_NAMES $names"
            else
                echo "== suite $n: did not finish"
                FAIL=$((FAIL + 1)) FAILED_NAMES="$FAILED_NAMES suite:$n"
            fi
        done
        [ "$left" = 0 ] && break
        # Every lane gone with suites left: report those as not run.
        if [ -z "$alive" ]; then
            for n in $all_suites; do
                case " $shown " in *" $n "*) continue;; esac
                [ -f "$res/$n.done" ] && continue
                echo "== suite $n: did not run"
                FAIL=$((FAIL + 1)) FAILED_NAMES="$FAILED_NAMES suite:$n"
                : >"$res/$n.done"; shown="$shown $n"
            done
            break
        fi
        sleep 1
    done
    # Every lane has ended: reap them (and the attrprobe build). Not by
    # PID: in a long run the kernel may have handed a lane's PID to a
    # later child, and bash then no longer knows the lane.
    wait 2>/dev/null
fi
[ -n "${attrprobe_pid:-}" ] && wait "$attrprobe_pid" 2>/dev/null
echo
[ "$FAIL" = 0 ] || echo "failed cases:$FAILED_NAMES" | fold -w 200
echo "compat: $PASS passed, $FAIL failed"
[ -n "$reserved_set" ] && echo "$saved_reserved" 2>/dev/null >"$reserved_ports"
[ "$FAIL" = 0 ]
