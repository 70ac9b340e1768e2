# smtpd-sasl.sh - SMTP AUTH through Dovecot: the reference's smtpd against
# ours, both with smtpd_sasl_type = dovecot and the same private Dovecot
# auth service (compat-tests/dovecot-auth.sh; users test:secret and
# other:pw2). Compared: the EHLO AUTH line, AUTH PLAIN and LOGIN success
# and failure replies (wrong password, unknown mechanism, bad base64,
# aborted exchange, AUTH twice, AUTH during a transaction, an authzid,
# the MAIL AUTH= parameter), relaying
# allowed by permit_sasl_authenticated and refused without it, smtpd's log
# lines (sasl_method=, sasl_username=, the failure warnings, the auth=
# counts of the disconnect lines) and the queued
# message (the Received header's "Authenticated sender").
# Further listeners of the same instance: sender login restrictions at
# MAIL time, smtpd_tls_auth_only, wrapper mode, the new-TLS-session and
# AUTH rate limits (anvil's statistics are compared too: postfix reload
# makes anvil log them and exit), and TLS session resumption.
# Our side runs only once our smtpd offers AUTH; the reference side alone
# still checks that the setup authenticates (so that the suite can fail).
# Needs root, the postfix user and /usr/sbin/dovecot.

SD_PROBE_PORT=42997
. "$(dirname "${BASH_SOURCE[0]}")/../smtpd-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../dovecot-auth.sh"

SS_DOVE=$SD_T/dovecot
SS_SOCK=$SS_DOVE/auth-client
SS_TLS=$SD_T/sasl-tls

ss_b64() { printf '%b' "$1" | base64 -w0; }

ss_instance() {
    local name=$1 port=$3 d
    sd_instance "$1" "$2" "$3" \
        "smtpd_sasl_auth_enable = yes" \
        "smtpd_sasl_type = dovecot" \
        "smtpd_sasl_path = $SS_SOCK" \
        "smtpd_sasl_authenticated_header = yes" \
        "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination" \
        "smtpd_soft_error_limit = 100" "smtpd_hard_error_limit = 100" \
        "smtpd_sender_login_maps = texthash:INST/login_maps" \
        "relay_domains = relay.example" \
        "relay_recipient_maps = texthash:INST/relay_rcpts" \
        "virtual_alias_domains = valias.example" \
        "virtual_alias_maps = texthash:INST/valias" \
        "smtpd_restriction_classes = c_login, c_auth, c_known, c_unauth, c_unlisted, c_sasl" \
        "c_login = reject_sender_login_mismatch, permit" \
        "c_auth = reject_authenticated_sender_login_mismatch, permit" \
        "c_known = reject_known_sender_login_mismatch, permit" \
        "c_unauth = reject_unauthenticated_sender_login_mismatch, permit" \
        "c_unlisted = reject_unlisted_sender, permit" \
        "c_sasl = check_sasl_access texthash:INST/sasl_access, permit" \
        "smtpd_recipient_restrictions = check_recipient_access texthash:INST/rcpt_class" \
        "smtpd_tls_cert_file = $SS_TLS/cert.pem" "smtpd_tls_key_file = $SS_TLS/key.pem" \
        "smtpd_tls_loglevel = 1" "smtpd_tls_received_header = yes" "anvil_rate_time_unit = 3600s" \
        -- \
        "127.0.0.1:$((port + 1)) inet n - n - - smtpd -o smtpd_delay_reject=no -o smtpd_sender_restrictions=reject_sender_login_mismatch" \
        "127.0.0.1:$((port + 2)) inet n - n - - smtpd -o smtpd_tls_security_level=may -o smtpd_tls_auth_only=yes" \
        "127.0.0.1:$((port + 3)) inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=may -o smtpd_client_new_tls_session_rate_limit=1" \
        "127.0.0.1:$((port + 4)) inet n - n - - smtpd -o smtpd_tls_security_level=may -o smtpd_client_new_tls_session_rate_limit=1 -o smtpd_client_auth_rate_limit=2" \
        "127.0.0.1:$((port + 5)) inet n - n - - smtpd -o smtpd_tls_security_level=may -o smtpd_client_new_tls_session_rate_limit=1"
    d=$(sd_dir "$name")
    # Loopback is not a trusted network here: relaying needs AUTH.
    "$REF_SBIN/postconf" -c "$d/conf" -e "mynetworks = 192.0.2.0/24"
    printf '%s\n' "u@client.example test" "o@client.example other" "shared@client.example test, other" \
        "@owned.example test" >"$d/login_maps"
    printf '%s\n' "c-login@relay.example c_login" "c-auth@relay.example c_auth" "c-known@relay.example c_known" \
        "c-unauth@relay.example c_unauth" "c-unlisted@relay.example c_unlisted" "c-sasl@relay.example c_sasl" >"$d/rcpt_class"
    printf '%s\n' "c-login@relay.example x" "c-auth@relay.example x" "c-known@relay.example x" "c-unauth@relay.example x" \
        "c-unlisted@relay.example x" "c-sasl@relay.example x" "known@relay.example x" >"$d/relay_rcpts"
    printf '%s\n' "known@valias.example x@remote.example" >"$d/valias"
    printf '%s\n' "other 554 5.7.1 Login other may not send here" "test WARN login test noted" >"$d/sasl_access"
    find "$d/conf" "$d"/login_maps "$d"/rcpt_class "$d"/relay_rcpts "$d"/valias "$d"/sasl_access -type f \
        -exec touch -d '1 minute ago' {} +
}

# ss_scripts DIR - the dialogues.
ss_scripts() {
    local s=$1
    mkdir -p "$s"
    printf '%s\n' "EHLO client.example" "MAIL FROM:<u@client.example>" "RCPT TO:<x@remote.example>" "QUIT" >"$s/noauth"
    printf '%s\n' "EHLO client.example" "AUTH PLAIN $(ss_b64 '\0test\0secret')" "AUTH PLAIN $(ss_b64 '\0test\0secret')" \
        "MAIL FROM:<u@client.example>" "RCPT TO:<x@remote.example>" "DATA" "Subject: authenticated" "" "hello" "." "QUIT" >"$s/plain"
    printf '%s\n' "EHLO client.example" "AUTH PLAIN $(ss_b64 '\0test\0wrong')" "AUTH PLAIN $(ss_b64 '\0nosuch\0x')" \
        "MAIL FROM:<u@client.example>" "RCPT TO:<x@remote.example>" "QUIT" >"$s/plain-bad"
    printf '%s\n' "EHLO client.example" "AUTH LOGIN" "$(ss_b64 other)" "$(ss_b64 pw2)" \
        "MAIL FROM:<o@client.example>" "RCPT TO:<y@remote.example>" "QUIT" >"$s/login"
    printf '%s\n' "EHLO client.example" "AUTH LOGIN $(ss_b64 other)" "$(ss_b64 bad)" "QUIT" >"$s/login-bad"
    printf '%s\n' "EHLO client.example" "AUTH CRAM-MD5" "AUTH PLAIN %%%" "AUTH LOGIN" "*" "AUTH LOGIN" "not base64!" \
        "AUTH" "HELO client.example" "AUTH PLAIN" "$(ss_b64 '\0test\0secret')" "QUIT" >"$s/odd"
    printf '%s\n' "EHLO client.example" "MAIL FROM:<u@client.example>" "AUTH PLAIN $(ss_b64 '\0test\0secret')" "QUIT" >"$s/in-trans"
    printf '%s\n' "EHLO client.example" "MAIL FROM:<n@client.example> AUTH=<n@client.example>" "RSET" \
        "AUTH PLAIN $(ss_b64 'test\0test\0secret')" "MAIL FROM:<p@client.example> AUTH=<p+2Bx@client.example>" \
        "RCPT TO:<z@remote.example>" "DATA" "Subject: auth param" "" "body" "." \
        "MAIL FROM:<q@client.example> AUTH=<>" "RSET" "MAIL FROM:<q@client.example> AUTH=bad" "QUIT" >"$s/authparam"
    # The sender login restrictions (classes chosen by the recipient):
    # every kind of sender (owned by test, by other, by both, by a
    # domain entry, unlisted, null, unknown and known in a relay domain
    # and a virtual alias domain) without AUTH, as test and as other.
    local who snd rcpt
    for who in noauth test other; do
        {
            echo "EHLO client.example"
            case $who in
                test) echo "AUTH PLAIN $(ss_b64 '\0test\0secret')" ;;
                other) echo "AUTH PLAIN $(ss_b64 '\0other\0pw2')" ;;
            esac
            for snd in u@client.example o@client.example shared@client.example free@client.example x@owned.example "" \
                ghost@relay.example known@relay.example ghost@valias.example known@valias.example; do
                echo "MAIL FROM:<$snd>"
                for rcpt in login auth known unauth unlisted sasl; do echo "RCPT TO:<c-$rcpt@relay.example>"; done
                echo "RSET"
            done
            echo "QUIT"
        } >"$s/restrict-$who"
    done
    # smtpd_sender_restrictions = reject_sender_login_mismatch at MAIL
    # time (smtpd_delay_reject = no).
    printf '%s\n' "EHLO client.example" "MAIL FROM:<u@client.example>" "MAIL FROM:<free@client.example>" "RSET" \
        "AUTH PLAIN $(ss_b64 '\0test\0secret')" "MAIL FROM:<o@client.example>" "MAIL FROM:<x@owned.example>" "RSET" \
        "MAIL FROM:<shared@client.example>" "RSET" "MAIL FROM:<free@client.example>" "RSET" "MAIL FROM:<>" "QUIT" >"$s/mail-time"
    # smtpd_tls_auth_only = yes: no AUTH before STARTTLS, AUTH after it,
    # and the Received header of TLS plus an authenticated sender.
    printf '%s\n' "EHLO client.example" "AUTH PLAIN $(ss_b64 '\0test\0secret')" "STARTTLS" "@starttls" \
        "MAIL FROM:<u@client.example>" "EHLO client.example" "AUTH LOGIN" "$(ss_b64 test)" "$(ss_b64 secret)" \
        "MAIL FROM:<u@client.example>" "RCPT TO:<tls@remote.example>" "DATA" "Subject: tls auth" "" "over TLS" "." "QUIT" >"$s/tls-auth-only"
    # Wrapper mode (the port 465 style): TLS from the first byte, then AUTH.
    printf '%s\n' "EHLO client.example" "STARTTLS" "AUTH PLAIN $(ss_b64 '\0other\0pw2')" \
        "MAIL FROM:<o@client.example>" "RCPT TO:<wrap@remote.example>" "DATA" "Subject: wrapper" "" "wrapped" "." "QUIT" >"$s/wrapper"
    # Rate limits (anvil): a second wrapper-mode session is one new TLS
    # session too many (421 after the handshake); with STARTTLS, the second
    # handshake draws the 421, the third STARTTLS the 454; the third AUTH
    # in the rate window the 450.
    printf '%s\n' "EHLO client.example" "QUIT" >"$s/wrapper-again"
    printf '%s\n' "EHLO client.example" "STARTTLS" "@starttls" "EHLO client.example" "QUIT" >"$s/rate-tls"
    printf '%s\n' "EHLO client.example" "AUTH PLAIN $(ss_b64 '\0test\0wrong')" "AUTH PLAIN $(ss_b64 '\0test\0secret')" \
        "MAIL FROM:<u@client.example>" "RSET" "AUTH PLAIN $(ss_b64 '\0test\0secret')" "QUIT" >"$s/rate-auth"
    printf '%s\n' "EHLO client.example" "AUTH LOGIN" "QUIT" >"$s/rate-auth2"
}

# ss_run NAME - all dialogues; transcripts on stdout.
ss_run() {
    local name=$1 s=$SD_T/sasl-scripts t
    for t in noauth plain plain-bad login login-bad odd in-trans authparam restrict-noauth restrict-test restrict-other; do
        echo "## $t"
        sd_dialog "$name" "$s/$t"
    done
    echo "## mail-time"
    ss_dialog_at "$name" 1 "$s/mail-time"
    echo "## tls-auth-only"
    ss_dialog_at "$name" 2 "$s/tls-auth-only"
    echo "## wrapper"
    ss_dialog_at "$name" 3 "$s/wrapper" --tls-on-connect
    echo "## wrapper-again"
    ss_dialog_at "$name" 3 "$s/wrapper-again" --tls-on-connect
    for t in rate-auth rate-tls rate-tls rate-tls rate-auth2; do
        echo "## $t"
        ss_dialog_at "$name" 4 "$s/$t"
    done
    # TLS session resumption: a resumed session is not a new one for
    # the rate limit (1 here): new, resumed, resumed, then a new one that
    # is one too many; the resumed handshakes log no server digest.
    echo "## tls-resume"
    python3 "$(dirname "$SD_DIALOG")/tls-resume.py" "$(($(sd_port "$name") + 5))" nrrn 2>&1
}

# ss_dialog_at NAME OFFSET SCRIPT [OPTIONS] - a dialogue with the listener
# at the instance's port + OFFSET.
ss_dialog_at() {
    local name=$1 off=$2 script=$3 d=$SD_T/$1; shift 3
    python3 "$SD_DIALOG" --timeout "${SD_TIMEOUT:-5}" "$@" 127.0.0.1 "$(($(sd_port "$name") + off))" "$script" 2>&1 \
        | sed -e "s#$d#INST#g"
}

# ss_norm_service NAME - the listeners' service names (127.0.0.1:PORT)
# as offsets from the instance's first port; anvil's report times.
ss_norm_service() {
    local p i args=()
    p=$(sd_port "$1")
    for i in 0 1 2 3 4 5; do args+=(-e "s/127\.0\.0\.1:$((p + i))\b/SERVICE+$i/g"); done
    sed -E "${args[@]}" -e 's/ at [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}$/ at TIME/'
}

ss_case() {
    local name=$1 i
    ss_instance "$@"
    sd_start "$name" || { echo "smtpd-sasl: $name did not start"; return 1; }
    ss_run "$name" >"$SD_T/$name.dialog" 2>&1
    sd_settle "$name"
    sd_queue "$name" >"$SD_T/$name.queue"
    # postfix reload closes the master's status channel: anvil then logs
    # its peaks (connection, newtls and auth rates per service and
    # client) and exits.
    "$REF_SBIN/postfix" -c "$(sd_dir "$name")/conf" reload >/dev/null 2>&1
    for i in $(seq 1 30); do
        grep -aq ' postfix/anvil\[[0-9]*\]: statistics: max cache size' "$(sd_dir "$name")/maillog" && break
        sleep 0.1
    done
    sd_log "$name" smtpd | ss_norm_service "$name" >"$SD_T/$name.log"
    sd_log "$name" anvil | ss_norm_service "$name" >"$SD_T/$name.anvil"
    sd_stop "$name"
}

if [ "$(id -u)" != 0 ] || ! getent passwd postfix >/dev/null || [ ! -x /usr/sbin/dovecot ]; then
    echo "smtpd-sasl: needs root, the postfix user and dovecot; skipped"
elif ! dovecot_auth_start "$SS_DOVE" "$SS_SOCK"; then
    echo "FAIL smtpd-sasl-dovecot (Dovecot did not start)"; record smtpd-sasl-dovecot 0
else
    mkdir -p "$SS_TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SS_TLS/key.pem" -out "$SS_TLS/cert.pem" -days 2 \
        -subj /CN=mail.example.com >/dev/null 2>&1
    chmod 600 "$SS_TLS/key.pem"; chmod 644 "$SS_TLS/cert.pem"
    ss_scripts "$SD_T/sasl-scripts"
    ours_auth=
    if sd_ours_ready; then
        ss_instance sprobe ours 42630
        if sd_start sprobe; then
            printf 'EHLO x\nQUIT\n' >"$SD_T/sasl-scripts/probe"
            sd_dialog sprobe "$SD_T/sasl-scripts/probe" | grep -q '^S: 250.AUTH ' && ours_auth=1
        fi
        sd_stop sprobe
    fi
    # Both sides at once (separate instances and ports, one Dovecot).
    ss_case sref ref 42620 &
    ss_pids=$!
    if [ -n "$ours_auth" ]; then ss_case sours ours 42640 & ss_pids="$ss_pids $!"; fi
    # Not a bare wait: Dovecot runs in the background too.
    wait $ss_pids
    # The reference side really authenticates and relays.
    if grep -q '^S: 235 2.7.0 Authentication successful' "$SD_T/sref.dialog" \
        && grep -q 'sasl_method=PLAIN, sasl_username=test' "$SD_T/sref.log" \
        && grep -q 'Authenticated sender: test' "$SD_T/sref.queue" \
        && grep -q 'Sender address rejected: not owned by user other' "$SD_T/sref.dialog" \
        && grep -q 'SASL login name rejected' "$SD_T/sref.dialog" \
        && grep -q '^S: 454 4.7.0 Error: too many new TLS sessions' "$SD_T/sref.dialog" \
        && grep -q '^S: 450 4.7.1 Error: too many AUTH commands' "$SD_T/sref.dialog" \
        && grep -q 'statistics: max auth rate' "$SD_T/sref.anvil"; then
        record smtpd-sasl-reference-authenticates 1
    else
        echo "FAIL smtpd-sasl-reference-authenticates"; tail -n 40 "$SD_T/sref.dialog" "$SD_T/sref.log" "$SD_T/sref.anvil" | sed 's/^/    /'
        record smtpd-sasl-reference-authenticates 0
    fi
    if [ -n "$ours_auth" ]; then
        compare_files smtpd-sasl-dialogues "$SD_T/sref.dialog" "$SD_T/sours.dialog"
        compare_files smtpd-sasl-log "$SD_T/sref.log" "$SD_T/sours.log"
        compare_files smtpd-sasl-queue "$SD_T/sref.queue" "$SD_T/sours.queue"
        compare_files smtpd-sasl-anvil "$SD_T/sref.anvil" "$SD_T/sours.anvil"
    else
        echo "smtpd-sasl: our smtpd does not offer AUTH yet; its cases skipped"
    fi
    dovecot_auth_stop "$SS_DOVE"
fi
