# core.sh - the whole mail core, ours against the reference: two private
# instances, one run entirely by the reference's programs and one entirely
# by ours (postfix, master, pickup, cleanup, trivial-rewrite, showq,
# postlogd, sendmail, postdrop, postqueue, postsuper). Both get the same
# messages; compared are the postqueue -p / -j listings, postcat of every
# queue file, the maillog lines (times, pids, queue ids normalized), the
# queue after postsuper -h / -H / -d, and what is left after stop. Then
# robustness: a pickup killed with SIGKILL while mail waits in maildrop,
# and a corrupt maildrop file.
#
# Needs root and the postfix user; skipped otherwise.

CO_T=$COMPAT_TMP/core
mkdir -p "$CO_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$CO_T"

co_sbin() { if [ "$1" = ref ]; then echo "$REF_SBIN"; else echo "$OUR_SBIN"; fi; }

co_instance() {
    local s=$1 d=$CO_T/$1
    rm -rf "$d"; mkdir -p "$d/conf" "$d/q" "$d/data"; chown postfix "$d/data"
    cat >"$d/conf/main.cf" <<EOF
queue_directory = $d/q
data_directory = $d/data
daemon_directory = $([ "$s" = ref ] && echo "$REF_LIBEXEC" || echo "$OUR_LIBEXEC")
command_directory = $(co_sbin "$s")
maillog_file = $d/maillog
maillog_file_prefixes = $d
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = core.example.com
mydomain = example.com
mydestination =
header_checks = regexp:$d/conf/header_checks
EOF
    printf '/^Subject: hold me/ HOLD\n/^Subject: warn me/ WARN warned\n' >"$d/conf/header_checks"
    cat >"$d/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
showq     unix  n       -       n       -       -       showq
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

# The reference itself logs "waiting for ... to terminate" or not, by timing.
# The master logs "terminating on signal" after it signalled postlogd: the
# reference's postlogd is dead by then, ours writes what was sent first.
co_norm_log() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' \
        -e 's/PID: [0-9]+/PID: N/' -e 's/ pid [0-9]+ / pid N /' -e "s#$CO_T/(ref|ours)#INST#g" \
        -e "s#$REF_LIBEXEC/#DAEMONS/#g; s#$OUR_LIBEXEC/#DAEMONS/#g" "$1" \
        | grep -v -e 'symlink leaves directory' -e 'waiting for the Postfix mail system to terminate' \
            -e 'postfix/master\[PID\]: terminating on signal'
}

co_norm_queue() {
    sed -E -e 's/^[0-9A-F]{10,12}([*!]?)/QID\1/' -e 's/[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}/DATE/' \
        -e 's/"queue_id": "[0-9A-F]+"/"queue_id": "QID"/' -e 's/"arrival_time": [0-9]+/"arrival_time": T/'
}

co_norm_postcat() {
    # The content offset in message_size depends on the queue ID's length.
    sed -E -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/^(message_arrival_time|create_time): .*/\1: T/' \
        -e 's/^(message_size: +[0-9]+) +[0-9]+/\1 OFFSET/' \
        -e 's/^(Received: from|Date:|Message-Id:) .*/\1 X/' -e 's/^\t(by|id|for|\(envelope) .*/\t\1 X/' \
        -e 's/^\t[A-Z][a-z][a-z], .*/\tDATE/' -e 's/^named_attribute: log_ident=.*/log_ident/' \
        -e "s#$CO_T/(ref|ours)#INST#g"
}

# co_both NAME CMD - run CMD with $S = ref, then ours; compare the outputs.
co_both() { local name=$1; shift; sides_case core "$name" "$CO_T" ref ours "$@"; }

co_wait() {
    local i
    for i in $(seq 1 50); do
        [ "$(find "$CO_T/$1/q/incoming" "$CO_T/$1/q/hold" -type f 2>/dev/null | wc -l)" -ge "$2" ] \
            && [ -z "$(find "$CO_T/$1/q/maildrop" -type f 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    return 1
}

co_postcat_all() {
    local f
    for f in $(cd "$CO_T/$S/q" && find incoming hold -type f | sort); do
        "$REF_SBIN/postcat" -v "$CO_T/$S/q/$f" 2>&1 | co_norm_postcat
    done | LC_ALL=C sort
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || [ ! -x "$OUR_SBIN/postfix" ] || [ ! -x "$OUR_LIBEXEC/cleanup" ]; then
    echo "core: skipped: needs root, the postfix user, and our commands and daemons"
else
    co_stop() { local s; for s in ref ours; do "$(co_sbin $s)/postfix" -c "$CO_T/$s/conf" stop >/dev/null 2>&1; done; return 0; }
    trap 'co_stop; rm -rf "$COMPAT_TMP"' EXIT
    for co_s in ref ours; do co_instance $co_s; done
    co_both start '$(co_sbin $S)/postfix -c $CO_T/$S/conf start'
    co_both status '$(co_sbin $S)/postfix -c $CO_T/$S/conf status'
    co_both sockets 'cd $CO_T/$S/q && ls public private && stat -c "%n %A %U %G" public/* private/* maildrop public private'
    for co_s in ref ours; do
        sb=$(co_sbin $co_s)
        printf 'Subject: plain\n\nhello\n' | "$sb/sendmail" -C "$CO_T/$co_s/conf" -f alice@example.com bob@example.net
        printf 'From: Carol <carol>\nTo: dave, erin@example.org\nCc: frank\nBcc: grace@example.net\nSubject: extract\n\nbody\n' \
            | "$sb/sendmail" -C "$CO_T/$co_s/conf" -t
        printf 'Subject: hold me\n\nheld\n' | "$sb/sendmail" -C "$CO_T/$co_s/conf" -f h@example.com held@example.net
        printf 'Subject: warn me\nX-8bit: caf\xc3\xa9\n\n.\n..\nline\r\n' | "$sb/sendmail" -C "$CO_T/$co_s/conf" -i -F "W Sender" w@example.net
        printf 'Subject: dsn\n\nbody\n' | "$sb/sendmail" -C "$CO_T/$co_s/conf" -N success,delay -R hdrs -V env-1 -f d@example.com d2@example.net
    done
    co_both all-queued 'co_wait $S 5 && echo ok'
    co_both postqueue-p '$(co_sbin $S)/postqueue -c $CO_T/$S/conf -p | co_norm_queue | LC_ALL=C sort'
    co_both postqueue-j '$(co_sbin $S)/postqueue -c $CO_T/$S/conf -j | co_norm_queue | LC_ALL=C sort'
    co_both queue-files 'co_postcat_all'
    co_both postsuper-hold-all '$(co_sbin $S)/postsuper -c $CO_T/$S/conf -h ALL incoming; find $CO_T/$S/q/hold -type f | wc -l'
    co_both postsuper-release '$(co_sbin $S)/postsuper -c $CO_T/$S/conf -H ALL; find $CO_T/$S/q/deferred -type f | wc -l'
    co_both postsuper-delete '$(co_sbin $S)/postsuper -c $CO_T/$S/conf -d ALL; $(co_sbin $S)/postqueue -c $CO_T/$S/conf -p'
    # Robustness: pickup dies by SIGKILL, mail waits in maildrop, then flows.
    for co_s in ref ours; do
        pkill -KILL -P "$(tr -d ' ' <"$CO_T/$co_s/q/pid/master.pid")" -x pickup 2>/dev/null
        printf 'Subject: after kill\n\nbody\n' | "$(co_sbin $co_s)/sendmail" -C "$CO_T/$co_s/conf" -f k@example.com k2@example.net
        MAIL_CONFIG=$CO_T/$co_s/conf "$(co_sbin $co_s)/postqueue" -f 2>/dev/null
    done
    co_both after-pickup-kill 'co_wait $S 1; $(co_sbin $S)/postqueue -c $CO_T/$S/conf -p | co_norm_queue'
    co_both stop '$(co_sbin $S)/postfix -c $CO_T/$S/conf stop; sleep 1; $(co_sbin $S)/postfix -c $CO_T/$S/conf status'
    co_both maillog 'co_norm_log $CO_T/$S/maillog | LC_ALL=C sort'
    # The same daemons in a chroot jail (master.cf chroot column y).
    for co_s in ref ours; do
        sed -i -E 's/^(pickup|cleanup|rewrite|showq)( +[a-z-]+ +[-yn] +[-yn] +)n /\1\2y /' "$CO_T/$co_s/conf/master.cf"
        touch -d '1 minute ago' "$CO_T/$co_s/conf/master.cf"
        "$(co_sbin $co_s)/postfix" -c "$CO_T/$co_s/conf" start >/dev/null 2>&1
        printf 'Subject: jailed\n\nbody\n' | "$(co_sbin $co_s)/sendmail" -C "$CO_T/$co_s/conf" -f j@example.com j2@example.net
    done
    co_both chroot 'grep -c " y " $CO_T/$S/conf/master.cf; co_wait $S 2; $(co_sbin $S)/postqueue -c $CO_T/$S/conf -p | co_norm_queue | LC_ALL=C sort'
    co_stop
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
