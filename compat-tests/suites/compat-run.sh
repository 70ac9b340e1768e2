# compat-run.sh - the administrators' compatibility runner (compat-tests/run)
# over every corpus configuration set and the machine's /etc/postfix; a
# build with one altered default must be caught and shown as a diff; a
# run over a read-only copy of a configuration and a queue must work
# and leave it (and every directory but its own temp dir) untouched.
CR_RUN=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/run
CORPUS=${CORPUS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared/compat-corpus}
CR_T="$COMPAT_TMP/compat-run"
mkdir -p "$CR_T/reports"

# cr_report NAME RC FILE - a case from one runner exit status (0 = identical).
cr_report() {
    local name=$1 rc=$2 file=$3
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    if [ "$rc" = 0 ]; then
        record "$name" 1
    else
        echo "FAIL $name (runner exit $rc)"
        sed -n '/^DIFFERENT/,$p' "$file" | sed -n "1,${DIFF_LINES:-25}p" | sed 's/^/    /'
        [ -s "$file" ] || sed 's/^/    /' "$file.err" | head -5
        record "$name" 0
    fi
}

# Every corpus set, two at a time (the runner is mostly waiting on
# process start-up).
if [ -d "$CORPUS" ]; then
    for set in "$CORPUS"/*/; do
        [ -f "$set/main.cf" ] && echo "${set%/}"
    done | xargs -P 2 -I{} sh -c 'n=$(basename "{}"); "$0" --config "{}" --maps-from "{}" --reference "$1" --ours "$2" \
        --max-diffs 3 --diff-lines 12 >"$3/$n" 2>"$3/$n.err"; echo $? >"$3/$n.rc"' \
        "$CR_RUN" "$REF_SBIN" "$OUR_SBIN" "$CR_T/reports"
    for set in "$CORPUS"/*/; do
        n=$(basename "$set")
        [ -f "$CR_T/reports/$n.rc" ] && cr_report "compat-run/corpus/$n" "$(cat "$CR_T/reports/$n.rc")" "$CR_T/reports/$n"
    done
else
    echo "compat-run: corpus not found at $CORPUS (set CORPUS=...)"
    record "compat-run/corpus-present" 0
fi

# The machine's own configuration, queue included (read-only by design).
"$CR_RUN" --config /etc/postfix --queue --reference "$REF_SBIN" --ours "$OUR_SBIN" >"$CR_T/etc" 2>"$CR_T/etc.err"
cr_report compat-run/etc-postfix $? "$CR_T/etc"

# Reports in the three formats: JSON parses, JUnit is XML, text ends in a verdict.
d="$CORPUS/dms"
if [ -d "$d" ]; then
    "$CR_RUN" --config "$d" --maps-from "$d" --reference "$REF_SBIN" --ours "$OUR_SBIN" --format json >"$CR_T/f.json" 2>/dev/null
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["result"] in ("identical","different") and d["areas"]["postconf"]["identical"] > 5' "$CR_T/f.json" 2>/dev/null
    [ $? = 0 ]; record compat-run/format-json $((! $?))
    "$CR_RUN" --config "$d" --maps-from "$d" --reference "$REF_SBIN" --ours "$OUR_SBIN" --format junit >"$CR_T/f.xml" 2>/dev/null
    python3 -c 'import sys, xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); assert r.tag=="testsuites" and len(r.findall(".//testcase")) > 5' "$CR_T/f.xml" 2>/dev/null
    [ $? = 0 ]; record compat-run/format-junit $((! $?))
fi

# A build with one altered default: our postconf, except that
# default_process_limit defaults to 101. The runner must fail and show it.
CR_ALT="$CR_T/altered/sbin"
mkdir -p "$CR_ALT"
for f in "$OUR_SBIN"/*; do ln -sf "$f" "$CR_ALT/$(basename "$f")"; done
rm -f "$CR_ALT/postconf"
cat >"$CR_ALT/postconf" <<EOF
#!/bin/bash
out=\$(exec -a postconf "$OUR_SBIN/postconf" "\$@"); rc=\$?
[ -n "\$out" ] && printf '%s\n' "\$out" | sed 's/^default_process_limit = 100\$/default_process_limit = 101/'
exit \$rc
EOF
chmod 755 "$CR_ALT/postconf"
if [ -d "$d" ]; then
    "$CR_RUN" --config "$d" --maps-from "$d" --reference "$REF_SBIN" --ours "$CR_ALT" --no-maps >"$CR_T/alt" 2>&1
    rc=$?
    if [ $rc = 1 ] && grep -q '^  -default_process_limit = 100$' "$CR_T/alt" && grep -q '^  +default_process_limit = 101$' "$CR_T/alt" \
        && grep -q '^DIFFERENT postconf: postconf -d$' "$CR_T/alt" && grep -q '^RESULT: DIFFERENT' "$CR_T/alt"; then
        record compat-run/altered-default-caught 1
    else
        echo "FAIL compat-run/altered-default-caught (exit $rc)"; sed 's/^/    /' "$CR_T/alt" | head -20
        record compat-run/altered-default-caught 0
    fi
fi

# Read-only: a copy of a configuration (with its tables) and of a queue
# holding one message, mounted read-only in a private mount namespace;
# the runner's TMPDIR must be empty again afterwards and the tree
# byte-for-byte and time-for-time unchanged.
cr_snapshot() {
    (cd "$1" && find . -printf '%p %m %U %G %s %T@\n' | LC_ALL=C sort && find . -type f -exec md5sum {} + | LC_ALL=C sort)
}
CR_RO="$CR_T/ro"
if [ "$(id -u)" = 0 ] && [ -d "$d" ] && command -v unshare >/dev/null; then
    chmod 711 "$COMPAT_TMP" "$CR_T"
    mkdir -p "$CR_RO/conf" "$CR_RO/d" "$CR_RO/q" "$CR_T/rotmp"
    chmod 755 "$CR_RO"
    cp "$d"/* "$CR_RO/conf/"
    cat >>"$CR_RO/conf/main.cf" <<EOF
queue_directory = $CR_RO/q
data_directory = $CR_RO/d
maillog_file = $CR_RO/maillog
maillog_file_prefixes = $CR_RO
EOF
    chown postfix "$CR_RO/d"
    touch -d '1 hour ago' "$CR_RO/conf"/*
    "$REF_SBIN/postfix" -c "$CR_RO/conf" check >/dev/null 2>&1
    printf 'Subject: read-only test\n\nhello\n' | MAIL_CONFIG=$CR_RO/conf "$REF_SBIN/sendmail" -f a@example.com b@example.com 2>/dev/null
    cr_snapshot "$CR_RO" >"$CR_T/ro.before"
    TMPDIR=$CR_T/rotmp unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
        "$2" --config "$1/conf" --maps-from "$1/conf" --queue --smtp --reference "$3" --ours "$4" -v' \
        sh "$CR_RO" "$CR_RUN" "$REF_SBIN" "$OUR_SBIN" >"$CR_T/ro.out" 2>&1
    rc=$?
    cr_snapshot "$CR_RO" >"$CR_T/ro.after"
    if [ $rc -le 1 ] && cmp -s "$CR_T/ro.before" "$CR_T/ro.after" && [ -z "$(ls -A "$CR_T/rotmp")" ] \
        && grep -q 'pass queue: postqueue -j' "$CR_T/ro.out" && grep -q 'queue: postcat -q' "$CR_T/ro.out" && grep -q 'smtp: dialogue basic' "$CR_T/ro.out" \
        && ! grep -qi 'read-only file system' "$CR_T/ro.out"; then
        record compat-run/read-only 1
    else
        echo "FAIL compat-run/read-only (exit $rc)"
        diff "$CR_T/ro.before" "$CR_T/ro.after" | head -10 | sed 's/^/    /'
        ls -A "$CR_T/rotmp" | head -5 | sed 's/^/    left in TMPDIR: /'
        grep -i 'fail\|read-only\|RESULT' "$CR_T/ro.out" | head -10 | sed 's/^/    /'
        record compat-run/read-only 0
    fi
else
    echo "compat-run: read-only case skipped (needs root and unshare)"
fi

# --smtp: throwaway loopback instances of a corpus configuration, the
# reference's daemons against ours (our smtpd once it is built; until
# then our master, qmgr, cleanup and trivial-rewrite behind the
# reference smtpd), the same dialogues replayed on both.
if [ "$(id -u)" = 0 ] && [ -d "$d" ]; then
    "$CR_RUN" --config "$d" --maps-from "$d" --smtp --no-postconf --no-maps --reference "$REF_SBIN" --ours "$OUR_SBIN" -v \
        >"$CR_T/smtp" 2>&1
    rc=$?
    if grep -q '^  [a-z]* *smtp: dialogue basic$' "$CR_T/smtp"; then
        cr_report compat-run/smtp-dialogues $rc "$CR_T/smtp"
    else
        echo "FAIL compat-run/smtp-dialogues (no dialogue replayed, exit $rc)"; grep -v '^  pass' "$CR_T/smtp" | head -20 | sed 's/^/    /'
        record compat-run/smtp-dialogues 0
    fi
fi
