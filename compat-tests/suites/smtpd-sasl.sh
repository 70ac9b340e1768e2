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
# Our side runs only once our smtpd offers AUTH; the reference side alone
# still checks that the setup authenticates (so that the suite can fail).
# Needs root, the postfix user and /usr/sbin/dovecot.

. "$(dirname "${BASH_SOURCE[0]}")/../smtpd-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../dovecot-auth.sh"

SS_DOVE=$SD_T/dovecot
SS_SOCK=$SS_DOVE/auth-client

ss_b64() { printf '%b' "$1" | base64 -w0; }

ss_instance() {
    sd_instance "$1" "$2" "$3" \
        "smtpd_sasl_auth_enable = yes" \
        "smtpd_sasl_type = dovecot" \
        "smtpd_sasl_path = $SS_SOCK" \
        "smtpd_sasl_authenticated_header = yes" \
        "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination" \
        "smtpd_soft_error_limit = 100" "smtpd_hard_error_limit = 100"
    # Loopback is not a trusted network here: relaying needs AUTH.
    "$REF_SBIN/postconf" -c "$(sd_dir "$1")/conf" -e "mynetworks = 192.0.2.0/24"
    find "$(sd_dir "$1")/conf" -type f -exec touch -d '1 minute ago' {} +
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
}

# ss_run NAME - all dialogues; transcripts on stdout.
ss_run() {
    local name=$1 s=$SD_T/sasl-scripts t
    for t in noauth plain plain-bad login login-bad odd in-trans authparam; do
        echo "## $t"
        sd_dialog "$name" "$s/$t"
    done
}

ss_case() {
    local name=$1
    ss_instance "$@"
    sd_start "$name" || { echo "smtpd-sasl: $name did not start"; return 1; }
    ss_run "$name" >"$SD_T/$name.dialog" 2>&1
    sd_settle "$name"
    sd_queue "$name" >"$SD_T/$name.queue"
    sd_log "$name" smtpd >"$SD_T/$name.log"
    sd_stop "$name"
}

if [ "$(id -u)" != 0 ] || ! getent passwd postfix >/dev/null || [ ! -x /usr/sbin/dovecot ]; then
    echo "smtpd-sasl: needs root, the postfix user and dovecot; skipped"
elif ! dovecot_auth_start "$SS_DOVE" "$SS_SOCK"; then
    echo "FAIL smtpd-sasl-dovecot (Dovecot did not start)"; record smtpd-sasl-dovecot 0
else
    ss_scripts "$SD_T/sasl-scripts"
    ss_case sref ref 42620
    # The reference side really authenticates and relays.
    if grep -q '^S: 235 2.7.0 Authentication successful' "$SD_T/sref.dialog" \
        && grep -q 'sasl_method=PLAIN, sasl_username=test' "$SD_T/sref.log" \
        && grep -q 'Authenticated sender: test' "$SD_T/sref.queue"; then
        record smtpd-sasl-reference-authenticates 1
    else
        echo "FAIL smtpd-sasl-reference-authenticates"; sed -n '1,40p' "$SD_T/sref.dialog" "$SD_T/sref.log" | sed 's/^/    /'
        record smtpd-sasl-reference-authenticates 0
    fi
    ours_auth=
    if sd_ours_ready; then
        ss_instance sprobe ours 42621
        if sd_start sprobe; then
            printf 'EHLO x\nQUIT\n' >"$SD_T/sasl-scripts/probe"
            sd_dialog sprobe "$SD_T/sasl-scripts/probe" | grep -q '^S: 250.AUTH ' && ours_auth=1
        fi
        sd_stop sprobe
    fi
    if [ -n "$ours_auth" ]; then
        ss_case sours ours 42622
        compare_files smtpd-sasl-dialogues "$SD_T/sref.dialog" "$SD_T/sours.dialog"
        compare_files smtpd-sasl-log "$SD_T/sref.log" "$SD_T/sours.log"
        compare_files smtpd-sasl-queue "$SD_T/sref.queue" "$SD_T/sours.queue"
    else
        echo "smtpd-sasl: our smtpd does not offer AUTH yet; its cases skipped"
    fi
    dovecot_auth_stop "$SS_DOVE"
fi
