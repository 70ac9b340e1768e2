# bounce.sh - our bounce(8) (the bounce, defer and trace services)
# against the reference's. Two private instances run the reference's
# daemons (master, pickup, cleanup, qmgr, trivial-rewrite, error,
# discard); one of them has our bounce in its daemon_directory. Both get
# the same mail: hard bounces (error: transport), a message that defers
# (retry: transport) with delay warnings, NOTIFY=SUCCESS and
# NOTIFY=SUCCESS,DELAY (success notices), a null sender that bounces
# (double bounce to 2bounce_notice_recipient), RET=HDRS, a message over
# bounce_size_limit, VERP-style bounces, and postmaster copies
# (notify_classes bounce, 2bounce, delay). The notices that our bounce
# posts through the reference cleanup are held by a header_checks HOLD
# rule (internal_mail_filter_classes = bounce), so that they stay in the
# queue: each is printed with the reference postcat and compared after
# queue IDs, dates and MIME boundary time stamps are masked. The defer
# logfile of the deferred message and bounce's log lines are compared
# too. Then verify(8): an instance with our verify (and one with the
# reference's) runs the reference smtpd with reject_unverified_recipient;
# the RCPT TO replies of an SMTP session (probes through error, discard
# and retry transports) are compared.
#
# Needs root, the postfix user and our daemons (OUR_LIBEXEC: a link
# named bounce to the multi-call binary); skipped otherwise.

BO_T=$COMPAT_TMP/bounce
mkdir -p "$BO_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$BO_T"

# bo_instance NAME [DAEMON...] SETTING... - a fresh instance; the named
# daemons (before the first setting, which contains '=') are ours.
bo_instance() {
    local n=$1 d=$BO_T/$1 ours=() x; shift
    while [ $# -gt 0 ] && [[ "$1" != *=* ]]; do ours+=("$1"); shift; done
    inst_dirs "$d"
    mixed_daemon_dir "$d/libexec" "${ours[@]}"
    inst_main_cf "$d" "$d/libexec"
    cat >>"$d/conf/main.cf" <<EOF
myhostname = host.example.com
mydomain = example.com
mydestination =
in_flow_delay = 0
transport_maps = hash:$d/conf/transport
internal_mail_filter_classes = bounce
header_checks = regexp:$d/conf/header_checks
nested_header_checks =
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
EOF
    printf '/^Auto-Submitted:/ HOLD\n' >"$d/conf/header_checks"
    cat >"$d/conf/transport" <<'EOF'
err.example error:5.1.1 mailbox unknown here
retry.example retry:4.2.0 try again later
ok.example discard:delivered fine
EOF
    "$REF_SBIN/postmap" -c "$d/conf" "hash:$d/conf/transport"
    cat >"$d/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    for x in "$@"; do "$REF_SBIN/postconf" -c "$d/conf" -e "$x"; done
    chmod -R a+rX "$d/conf"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

bo_start() { inst_start "$BO_T/$1/conf" >/dev/null 2>&1; }
bo_stop() {
    local n
    for n in ref ours; do
        [ -d "$BO_T/$n/conf" ] && inst_stop "$BO_T/$n/conf"
    done
    return 0
}

# bo_send NAME SENDMAIL-ARGS... - a test message through the reference sendmail.
bo_send() {
    local n=$1; shift
    "$REF_SBIN/sendmail" -C "$BO_T/$n/conf" "$@" <"$BO_T/msg" >/dev/null
}

# bo_wait NAME COUNT DEFERRED - until COUNT messages are held, DEFERRED
# are deferred and nothing is in incoming/ or active/ (at most 20 s).
bo_wait() {
    local d=$BO_T/$1/q i
    for i in $(seq 1 80); do
        if [ "$(find "$d/hold" -type f 2>/dev/null | wc -l)" -ge "$2" ] \
            && [ "$(find "$d/deferred" -type f 2>/dev/null | wc -l)" -eq "$3" ] \
            && [ -z "$(find "$d/incoming" "$d/active" "$d/maildrop" -type f 2>/dev/null)" ]; then
            sleep 0.3
            return 0
        fi
        sleep 0.25
    done
    echo "bounce: $1: timeout waiting for $2 held and $3 deferred messages" >&2
    return 1
}

# bo_norm - queue ids, dates, boundary time stamps, paths masked.
bo_norm() {
    sed -E -e 's/\b[0-9A-F]{10,12}\b/QID/g' \
        -e 's/^(message_arrival_time|create_time|message_size|warning_message_time): .*/\1: X/' \
        -e 's/^named_attribute: log_ident=.*/log_ident/' \
        -e 's/^(Date|Arrival-Date|Will-Retry-Until): .*/\1: DATE/' \
        -e 's/^\tid QID; .*/\tid QID; DATE/' \
        -e 's/^Message-Id: <[0-9]{14}\.QID@/Message-Id: <STAMP.QID@/' \
        -e 's#QID\.[0-9]+/#QID.TIME/#g' -e 's/^offset=[0-9]+$/offset=N/' -e 's#^(defer|bounce|trace)/[0-9A-F]/#\1/H/#' \
        -e 's/^(Received: from .*|\t\(envelope-from.*|\tby .*|\tfor .*)$/RECEIVED/' \
        -e "s#$BO_T/(ref|ours)#INST#g"
}

# bo_held NAME - every held notice, printed and normalized, in a stable
# order (by envelope recipient and subject).
bo_held() {
    local f d=$BO_T/$1/q h=$BO_T/$1/held
    rm -rf "$h"; mkdir -p "$h"
    for f in $(find "$d/hold" -type f); do
        "$REF_SBIN/postcat" -c "$BO_T/$1/conf" "$f" 2>&1 | bo_norm >"$h/$(basename "$f")"
    done
    for f in "$h"/*; do
        [ -f "$f" ] || continue
        printf '%s\t%s\n' "$(grep -e '^recipient:' -e '^Subject:' -e '^Final-Recipient:' "$f" | tr '\n' ' ')" "$f"
    done | sort | cut -f2 | while read -r f; do echo "=== notice"; cat "$f"; done
}

# bo_log NAME - bounce's log lines.
bo_log() {
    sed -n -E -e 's#^.*postfix/(bounce|defer|trace)\[[0-9]+\]: ##p' "$BO_T/$1/maillog" 2>/dev/null \
        | bo_norm | grep -v -e '^daemon started' | sort
}

# bo_logfiles NAME - the bounce/defer/trace logfiles left in the queue.
bo_logfiles() {
    local f d=$BO_T/$1/q
    for f in $(cd "$d" && find bounce defer trace -type f 2>/dev/null | sort); do
        echo "== $(echo "$f" | bo_norm)"
        bo_norm <"$d/$f"
    done
}

# bo_case NAME HELD SETTINGS... -- SENDMAIL-ARGS... [-- SENDMAIL-ARGS...]
# Both instances with the settings get the messages; compared are the
# held notices, the logfiles left and bounce's log lines.
bo_case() {
    local name=$1 held=$2 deferred=${BO_DEFERRED:-0} n settings=() a; shift 2
    case "bounce-$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    while [ $# -gt 0 ] && [ "$1" != -- ]; do settings+=("$1"); shift; done
    for n in ref ours; do
        bo_instance "$n" $([ "$n" = ours ] && echo bounce) "${settings[@]}"
        bo_start "$n"
    done
    for n in ref ours; do
        local args=() first=1
        for a in "$@"; do
            if [ "$a" = -- ]; then
                [ $first = 1 ] || bo_send "$n" "${args[@]}"
                args=(); first=0
            else
                args+=("$a")
            fi
        done
        [ ${#args[@]} -gt 0 ] && bo_send "$n" "${args[@]}"
    done
    for n in ref ours; do bo_wait "$n" "$held" "$deferred"; done
    sleep "${BO_SETTLE:-0}"
    bo_stop
    for n in ref ours; do
        bo_held "$n" >"$BO_T/$n.$name.held"
        bo_logfiles "$n" >"$BO_T/$n.$name.files"
        bo_log "$n" >"$BO_T/$n.$name.log"
    done
    compare_files "bounce-$name-notices" "$BO_T/ref.$name.held" "$BO_T/ours.$name.held"
    compare_files "bounce-$name-logfiles" "$BO_T/ref.$name.files" "$BO_T/ours.$name.files"
    compare_files "bounce-$name-log" "$BO_T/ref.$name.log" "$BO_T/ours.$name.log"
}

# vf_smtp PORT RCPT... - an SMTP session with the instance's smtpd: the
# replies to each RCPT TO (reject_unverified_recipient asks verify).
vf_smtp() {
    local port=$1 r line; shift
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    vf_reply() { while IFS= read -r -t 15 line <&3; do echo "${line%$'\r'}"; [ "${line:3:1}" = "-" ] || break; done; }
    vf_reply >/dev/null
    printf 'EHLO client.example\r\n' >&3; vf_reply >/dev/null
    printf 'MAIL FROM:<sender@remote.example>\r\n' >&3; vf_reply
    for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r" >&3; vf_reply; done
    printf 'QUIT\r\n' >&3; vf_reply >/dev/null
    exec 3>&-
}

# vf_case NAME SETTING... -- RCPT... - verify(8): ours against the
# reference, through the reference smtpd with reject_unverified_recipient;
# the RCPT replies are compared (each recipient asked twice).
vf_case() {
    local name=$1 n settings=() port; shift
    case "verify-$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    while [ $# -gt 0 ] && [ "$1" != -- ]; do settings+=("$1"); shift; done
    shift
    for n in ref ours; do
        bo_instance "$n" $([ "$n" = ours ] && echo verify) "smtpd_recipient_restrictions = reject_unverified_recipient" \
            "address_verify_map =" "${settings[@]}"
        port=$((20000 + RANDOM % 20000))
        echo "$port" >"$BO_T/$n.port"
        printf '127.0.0.1:%s inet n - n - - smtpd\nverify unix - - n - 1 verify\nproxymap unix - - n - - proxymap\n' "$port" >>"$BO_T/$n/conf/master.cf"
        bo_start "$n"
    done
    for n in ref ours; do inst_wait_port "$(cat "$BO_T/$n.port")"; done
    for n in ref ours; do
        vf_smtp "$(cat "$BO_T/$n.port")" "$@" "$@" >"$BO_T/$n.vf-$name" 2>&1
    done
    bo_stop
    compare_files "verify-$name" "$BO_T/ref.vf-$name" "$BO_T/ours.vf-$name"
}

if [ "$(id -u)" != 0 ] || [ ! -x "$OUR_LIBEXEC/bounce" ]; then
    echo "bounce: skipped: needs root and our daemons ($OUR_LIBEXEC)"
else
    trap 'bo_stop; [ -n "${BO_KEEP:-}" ] || rm -rf "$COMPAT_TMP"' EXIT
    printf 'From: Sender <sender@remote.example>\nTo: rcpt\nSubject: test message\nMessage-Id: <m1@remote.example>\n\nline one\nline two\n' >"$BO_T/msg"
    chmod 644 "$BO_T/msg"

    # A hard bounce: one notice to the sender.
    bo_case hard 1 -- -f sender@remote.example user@err.example
    # Two failed recipients, one of them expanded (orig_to), RET=HDRS.
    bo_case hdrs 1 -- -f sender@remote.example -R hdrs a@err.example b@err.example
    # Postmaster copies of bounces: the sender's notice and the postmaster's.
    bo_case postmaster 2 "notify_classes = bounce, resource, software" "bounce_notice_recipient = pm@remote.example" \
        -- -f sender@remote.example user@err.example
    # A bounce of a bounce: to 2bounce_notice_recipient from the double-bounce sender.
    bo_case double 1 "notify_classes = 2bounce" "2bounce_notice_recipient = pm2@remote.example" -- -f '<>' user@err.example
    # Without 2bounce (or bounce) in notify_classes, no notice at all.
    bo_case double-off 0 -- -f '<>' user@err.example
    # A double bounce that fails is dropped (no notice at all).
    bo_case triple 0 -- -f double-bounce user@err.example
    # A bounced message over bounce_size_limit: headers only.
    bo_case size-limit 1 "bounce_size_limit = 20" -- -f sender@remote.example user@err.example
    # NOTIFY: SUCCESS notice from the trace logfile; NEVER: no notice.
    bo_case success 1 -- -f sender@remote.example -N success user@ok.example
    bo_case never 0 -- -f sender@remote.example -N never user@err.example
    # VERP-style bounces, one notice per recipient, and postmaster copies.
    bo_case verp 4 "notify_classes = bounce" -- -f sender@remote.example -XV a@err.example b@err.example
    # A DSN envelope ID (Original-Envelope-Id).
    bo_case envid 1 -- -f sender@remote.example -V envelope-id-1 a@err.example
    # A deferred message: the defer logfile, and a delay warning.
    BO_SETTLE=2 BO_DEFERRED=1 bo_case defer 1 "delay_warning_time = 1s" "notify_classes = resource, software" \
        -- -f sender@remote.example -N success,delay user@retry.example
    # Delay warnings with a postmaster copy (notify_classes delay).
    BO_SETTLE=2 BO_DEFERRED=1 bo_case defer-postmaster 2 "delay_warning_time = 1s" "notify_classes = delay" \
        "delay_notice_recipient = pm-delay@remote.example" -- -f sender@remote.example user@retry.example
    BO_SETTLE=0
    # Address verification reports (sendmail -bv: the verify template).
    bo_case verify 1 -- -f sender@remote.example -bv a@err.example b@err.example
    bo_case verify-ok 1 -- -f sender@remote.example -bv user@ok.example
    # A template file (UTF-8 text), the obsolete From: format, threading headers.
    printf 'failure_template = <<EOF\nCharset: utf-8\nFrom: Bounce Robot <robot>\nSubject: Nicht zustellbar\nPostmaster-Subject: PM: failed\n\nDie Nachricht an $myhostname ging nicht: \xc3\xa4\xc3\xb6\xc3\xbc.\nEOF\n' >"$BO_T/templates"
    chmod 644 "$BO_T/templates"
    bo_case template 2 "bounce_template_file = $BO_T/templates" "notify_classes = bounce" \
        -- -f sender@remote.example user@err.example
    bo_case obsolete-from 1 "header_from_format = obsolete" "enable_threaded_bounces = yes" \
        -- -f sender@remote.example user@err.example
    # A message that cleanup itself bounces (header_checks REJECT).
    printf '/^Auto-Submitted:/ HOLD\n/^Subject: test message/ REJECT no tests here\n' >"$BO_T/reject_checks"
    chmod 644 "$BO_T/reject_checks"
    bo_case cleanup-reject 1 "header_checks = regexp:$BO_T/reject_checks" -- -f sender@remote.example user@ok.example

    # verify(8), when our build has it.
    if [ -x "$OUR_LIBEXEC/verify" ]; then
        vf_case probes -- user@err.example user@ok.example user@retry.example
        vf_case no-negative-cache "address_verify_negative_cache = no" "address_verify_poll_count = 1" \
            -- user@err.example user@ok.example
    fi
    bo_stop
fi
