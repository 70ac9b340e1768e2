# swap.sh - one of our programs at a time inside a reference installation.
# For each daemon (pickup, cleanup, trivial-rewrite, showq, postlogd,
# master) a private reference instance gets a daemon_directory of links
# where only that daemon is ours; for each command (sendmail, postdrop,
# postqueue, postsuper) the reference instance is driven with only that
# command ours (command_directory of links, so that sendmail finds the
# postdrop of the case). Mail must reach the queue and the reference's
# postqueue must list it exactly as in an all-reference run.
#
# Needs root and the postfix user; skipped otherwise.

SW_T=$COMPAT_TMP/swap
mkdir -p "$SW_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$SW_T"

# sw_instance NAME DAEMON COMMAND - one instance; DAEMON/COMMAND ours ("-" none).
sw_instance() {
    local n=$1 daemon=$2 cmd=$3 d=$SW_T/$1 f
    rm -rf "$d"; mkdir -p "$d/conf" "$d/q" "$d/data" "$d/sbin"; chown postfix "$d/data"
    if [ "$daemon" = - ]; then mixed_daemon_dir "$d/libexec"; else mixed_daemon_dir "$d/libexec" "$daemon"; fi
    for f in "$REF_SBIN"/post* "$REF_SBIN"/sendmail; do ln -sf "$f" "$d/sbin/$(basename "$f")"; done
    if [ "$cmd" != - ]; then rm -f "$d/sbin/$cmd"; cp -p "$OUR_SBIN/$cmd" "$d/sbin/$cmd"; fi
    cat >"$d/conf/main.cf" <<EOF
queue_directory = $d/q
data_directory = $d/data
daemon_directory = $d/libexec
command_directory = $d/sbin
maillog_file = $d/maillog
maillog_file_prefixes = $d
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = swap.example.com
mydomain = example.com
mydestination =
EOF
    cat >"$d/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
showq     unix  n       -       n       -       -       showq
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
    "$REF_SBIN/postfix" -c "$d/conf" start >/dev/null 2>&1
}

# sw_run NAME - submit, wait, list; postsuper -h then -H on the way.
sw_run() {
    local d=$SW_T/$1 i
    for i in 1 2; do
        printf 'From: s%s@example.com\nSubject: swap %s\n\nbody %s\n' $i $i $i \
            | "$d/sbin/sendmail" -C "$d/conf" -f "s$i@example.com" "r$i@example.net" "x$i@example.org"
    done
    for i in $(seq 1 50); do
        [ "$(find "$d/q/incoming" -type f | wc -l)" -ge 2 ] && break
        sleep 0.2
    done
    "$d/sbin/postsuper" -c "$d/conf" -h ALL 2>&1
    "$d/sbin/postsuper" -c "$d/conf" -H ALL 2>&1
    "$d/sbin/postqueue" -c "$d/conf" -p 2>&1 | sed -E -e 's/^[0-9A-F]{10,12}/QID/' \
        -e 's/[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}/DATE/' | LC_ALL=C sort
    grep -c 'message-id=<' "$d/maillog"
    inst_stop "$d/conf"
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || [ ! -x "$OUR_LIBEXEC/master" ] || [ ! -x "$OUR_SBIN/sendmail" ]; then
    echo "swap: skipped: needs root, the postfix user, and our commands and daemons"
else
    trap 'for d in "$SW_T"/*/conf; do "$REF_SBIN/postfix" -c "$d" stop >/dev/null 2>&1; done; rm -rf "$COMPAT_TMP"' EXIT
    sw_instance ref - -
    sw_run ref >"$SW_T/ref.out"
    for sw_x in pickup cleanup trivial-rewrite showq postlogd master; do
        case "$sw_x" in *"${CASE_FILTER:-}"*) ;; *) continue;; esac
        sw_instance "d-$sw_x" "$sw_x" -
        sw_run "d-$sw_x" >"$SW_T/d-$sw_x.out"
        compare_files "swap-daemon-$sw_x" "$SW_T/ref.out" "$SW_T/d-$sw_x.out"
    done
    for sw_x in sendmail postdrop postqueue postsuper; do
        case "$sw_x" in *"${CASE_FILTER:-}"*) ;; *) continue;; esac
        sw_instance "c-$sw_x" - "$sw_x"
        sw_run "c-$sw_x" >"$SW_T/c-$sw_x.out"
        compare_files "swap-command-$sw_x" "$SW_T/ref.out" "$SW_T/c-$sw_x.out"
    done
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
