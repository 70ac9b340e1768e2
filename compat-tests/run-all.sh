#!/usr/bin/env bash
# run-all.sh - run every compat suite (suites/*.sh) against the reference
# Postfix and our build; print "N passed, N failed" and exit non-zero on
# any difference. SUITES="postconf postmap" selects suites.
#
# The command-only suites (no running instance, no listening socket) run in
# a second lane beside the instance suites, which mostly wait on daemons;
# COMPAT_JOBS=1 runs everything in one lane, in order. Each suite of the
# second lane gets its own temporary directory; its output is shown when
# the run ends.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
trap 'rm -rf "$COMPAT_TMP"' EXIT
if [ ! -x "$REF_SBIN/postconf" ]; then
    echo "compat: the reference Postfix is not installed ($REF_SBIN/postconf); run tools/install-deps.sh" >&2
    exit 1
fi

# Suites that only run commands on files: safe to run beside the others.
COMMAND_SUITES=" postalias postconf postconf-edit postconf-master postconf-templates postfix-hooks postmap postcat "

selected() {
    [ -z "${SUITES:-}" ] && return 0
    case " $SUITES " in *" $1 "*) return 0;; esac
    return 1
}

# run_suite NAME - source one suite in this shell, with its timing.
# Its locals have names no suite uses (suites set n, s and the like).
run_suite() {
    local _suite=$1 _pass0=$PASS _fail0=$FAIL _start=$SECONDS
    echo "== suite $_suite"
    . "$here/suites/$_suite.sh"
    echo "== suite $_suite: $((PASS - _pass0)) passed, $((FAIL - _fail0)) failed ($((SECONDS - _start)) s)"
}

lane_pid=
lane_dir=$COMPAT_TMP/lane
if [ "${COMPAT_JOBS:-2}" -gt 1 ]; then
    mkdir -p "$lane_dir"
    (
        for s in "$here"/suites/*.sh; do
            n=$(basename "$s" .sh)
            case "$COMMAND_SUITES" in *" $n "*) ;; *) continue;; esac
            selected "$n" || continue
            (
                PASS=0 FAIL=0 FAILED_NAMES=
                COMPAT_TMP=$lane_dir/$n.tmp
                mkdir -p "$COMPAT_TMP"
                run_suite "$n" >"$lane_dir/$n.log" 2>&1
                echo "$PASS $FAIL $FAILED_NAMES" >"$lane_dir/$n.result"
                rm -rf "$COMPAT_TMP"
            )
        done
    ) &
    lane_pid=$!
fi

for s in "$here"/suites/*.sh; do
    n=$(basename "$s" .sh)
    selected "$n" || continue
    if [ -n "$lane_pid" ]; then
        case "$COMMAND_SUITES" in *" $n "*) continue;; esac
    fi
    run_suite "$n"
done

if [ -n "$lane_pid" ]; then
    wait "$lane_pid"
    for s in "$here"/suites/*.sh; do
        n=$(basename "$s" .sh)
        [ -f "$lane_dir/$n.log" ] || continue
        cat "$lane_dir/$n.log"
        if [ -f "$lane_dir/$n.result" ]; then
            read -r p f names <"$lane_dir/$n.result"
            PASS=$((PASS + p)) FAIL=$((FAIL + f))
            [ -n "$names" ] && FAILED_NAMES="$FAILED_NAMES $names"
        else
            echo "== suite $n: did not finish"
            FAIL=$((FAIL + 1)) FAILED_NAMES="$FAILED_NAMES suite:$n"
        fi
    done
fi
echo
[ "$FAIL" = 0 ] || echo "failed cases:$FAILED_NAMES" | fold -w 200
echo "compat: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
