#!/usr/bin/env bash
# run-all.sh - run every compat suite (suites/*.sh) against the reference
# Postfix and our build; print "N passed, N failed" and exit non-zero on
# any difference. SUITES="postconf postmap" selects suites.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
trap 'rm -rf "$COMPAT_TMP"' EXIT
if [ ! -x "$REF_SBIN/postconf" ]; then
    echo "compat: the reference Postfix is not installed ($REF_SBIN/postconf); run tools/install-deps.sh" >&2
    exit 1
fi
for s in "$here"/suites/*.sh; do
    n=$(basename "$s" .sh)
    if [ -n "${SUITES:-}" ]; then case " $SUITES " in *" $n "*) ;; *) continue;; esac; fi
    before_p=$PASS before_f=$FAIL
    echo "== suite $n"
    . "$s"
    echo "== suite $n: $((PASS - before_p)) passed, $((FAIL - before_f)) failed"
done
echo
[ "$FAIL" = 0 ] || echo "failed cases:$FAILED_NAMES" | fold -w 200
echo "compat: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
