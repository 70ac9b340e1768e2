# smtpd.sh - our smtpd(8) against the reference's, dialogue by dialogue.
# Each client dialogue of compat-tests/smtpd-dialogs/*.txt (its first
# comment lines name the configuration groups it runs in: "# group: ...")
# is replayed by smtp-dialog.py against two instances with the same
# main.cf: one run by the reference's daemons, one with our smtpd swapped
# in (smtpd-lib.sh). Compared per dialogue: the transcript (reply codes
# and texts), the smtpd and cleanup log lines (normalised), and every
# queued message (postcat -q, normalised). Groups: basic (loopback in
# mynetworks), strict (outside mynetworks, helo required, strict RFC 821
# envelopes, no VRFY, forbid unauthorised pipelining), limits (message,
# line, header, recipient, junk and error limits), bare-normalize and
# bare-reject (smtpd_forbid_bare_newline), xclient (XCLIENT/XFORWARD
# authorised), tls and tls-required (a self-signed certificate made here),
# deadline (smtpd_per_request_deadline, smtpd_min_data_rate; pauses of
# 2 s against smtpd_timeout = 3s), proxy and proxy-speed (smtpd_proxy_filter
# to a second smtpd of the instance, without and with speed_adjust),
# bs (sendmail -bs: stand-alone smtpd -S), all (an instance run entirely by
# our programs, mail delivered to a mailbox, against the reference's).
# swaks sends a few messages too (plain, pipelined, over TLS).
#
# Until our smtpd answers SMTP (the placeholder exits), only the
# reference's side runs and the comparisons are reported as pending.
# Needs root, the postfix and nobody users and openssl; skipped otherwise.

. "$here/smtpd-lib.sh"
SDS_DIALOGS=$here/smtpd-dialogs
SDS_OUT=$COMPAT_TMP/smtpd-cases
mkdir -p "$SDS_OUT"

sds_common=("smtpd_error_sleep_time = 0" "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination")

# sds_group_settings GROUP - the main.cf lines of a configuration group.
sds_group_settings() {
    local tls=("smtpd_tls_cert_file = $SD_T/tls/cert.pem" "smtpd_tls_key_file = $SD_T/tls/key.pem"
        "smtpd_tls_loglevel = 1")
    printf '%s\n' "${sds_common[@]}"
    case $1 in
        basic|bs) ;;
        strict) printf '%s\n' "mynetworks = 10.0.0.0/8" "smtpd_helo_required = yes" "strict_rfc821_envelopes = yes" \
            "disable_vrfy_command = yes" "smtpd_forbid_unauth_pipelining = yes" ;;
        limits) printf '%s\n' "message_size_limit = 1000" "header_size_limit = 600" "line_length_limit = 1000" \
            "smtpd_recipient_limit = 3" "smtpd_junk_command_limit = 3" "smtpd_soft_error_limit = 2" \
            "smtpd_hard_error_limit = 4" ;;
        bare-normalize) printf '%s\n' "smtpd_forbid_bare_newline = normalize" "smtpd_forbid_bare_newline_exclusions =" ;;
        bare-reject) printf '%s\n' "smtpd_forbid_bare_newline = reject" "smtpd_forbid_bare_newline_exclusions =" ;;
        xclient) printf '%s\n' "smtpd_authorized_xclient_hosts = 127.0.0.0/8" "smtpd_authorized_xforward_hosts = 127.0.0.0/8" \
            "mynetworks = 10.0.0.0/8" ;;
        tls) printf '%s\n' "${tls[@]}" "smtpd_tls_security_level = may" ;;
        tls-required) printf '%s\n' "${tls[@]}" "smtpd_tls_security_level = encrypt" ;;
        all) printf "%s\n" "virtual_alias_domains = example.net" "virtual_alias_maps = static:nobody@localhost" ;;
        deadline) printf '%s\n' "smtpd_timeout = 3s" "smtpd_per_request_deadline = yes" "smtpd_min_data_rate = 500" ;;
        proxy|proxy-speed)
            [ "$1" = proxy-speed ] && echo "smtpd_proxy_options = speed_adjust"
            # The filter: another smtpd of the instance, on a UNIX socket.
            printf '%s\n' "smtpd_proxy_filter = unix:private/pfilter" -- \
                "pfilter unix - - n - - smtpd -o smtpd_proxy_filter= -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination -o smtpd_recipient_restrictions=check_recipient_access,texthash:$SD_T/proxy-refused -o message_size_limit=500" ;;
    esac
}

# sds_dialogs GROUP - the dialogue files that run in GROUP.
sds_dialogs() {
    grep -l -m1 "^# group:.* $1\( \|\$\)" "$SDS_DIALOGS"/*.txt 2>/dev/null | LC_ALL=C sort
}

# sds_wait_disconnect NAME BEFORE - wait (3 s max) until smtpd has logged
# one more "disconnect from" than BEFORE, then a little for the rest.
sds_disconnects() { grep -a -c " postfix/smtpd\[[0-9]*\]: disconnect from" "$SD_T/$1/maillog" 2>/dev/null || true; }
sds_wait_disconnect() {
    local i
    for i in $(seq 1 30); do
        [ "$(sds_disconnects "$1")" -gt "$2" ] && break
        sleep 0.1
    done
    # then until the log stops growing (cleanup logs after smtpd)
    local size=-1
    for i in $(seq 1 10); do
        sleep 0.1
        [ "$(stat -c %s "$SD_T/$1/maillog" 2>/dev/null)" = "$size" ] && break
        size=$(stat -c %s "$SD_T/$1/maillog" 2>/dev/null)
    done
}

# sds_mailbox NAME - the delivered mail of an SD_DELIVER instance (emptied).
sds_mailbox() {
    local d=$SD_T/$1 i
    for i in $(seq 1 50); do
        [ -z "$(find "$d/q/incoming" "$d/q/active" -type f 2>/dev/null)" ] && break
        sleep 0.1
    done
    # Messages in a stable order (parallel deliveries append in any order).
    if [ -f "$d/mail/nobody" ]; then
        sd_norm_queue <"$d/mail/nobody" | sed -E 's/^(From [^ ]+ +)[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$/\1DATE/' \
            | awk '/^From / && NR > 1 { printf "\n" } { printf "%s\001", $0 } END { if (NR) printf "\n" }' | LC_ALL=C sort | tr '\001' '\n'
        : >"$d/mail/nobody"
    fi
    find "$d/q/deferred" -type f 2>/dev/null | wc -l | sed 's/^/deferred: /'
    find "$d/q/corrupt" -type f 2>/dev/null | wc -l | sed 's/^/corrupt: /'
    find "$d/q/corrupt" -type f -delete 2>/dev/null
}

# sds_run SIDE GROUP DIALOG OUTDIR - one dialogue on one side, everything saved.
sds_run() {
    local side=$1 group=$2 f=$3 out=$4 inst="$2-$1" before
    before=$(sds_disconnects "$inst")
    sd_log_mark "$inst"
    if [ "$group" = bs ]; then
        local sb=$REF_SBIN
        [ "$(sd_kind "$inst")" = all ] && sb=$OUR_SBIN
        python3 "$SD_DIALOG" --timeout 5 --exec "$sb/sendmail -C $SD_T/$inst/conf -bs" "$f" >"$out/$side.dialog" 2>&1
        sleep 0.3
    else
        sd_dialog "$inst" "$f" >"$out/$side.dialog"
        sds_wait_disconnect "$inst" "$before"
    fi
    sd_settle "$inst"
    # In the delivering group the queue drains first, so that the log has
    # the cleanup lines of the notices it made (DSN success reports).
    [ "$group" = all ] && sds_mailbox "$inst" >"$out/$side.queue"
    { sd_log_since "$inst" smtpd; sd_log_since "$inst" cleanup; } >"$out/$side.log"
    if [ "$group" != all ]; then
        sd_queue "$inst" >"$out/$side.queue"
        sd_queue_clear "$inst"
    fi
}

# sds_group GROUP - start the group's instances, run its dialogues, stop.
sds_group() {
    local group=$1 ref_kind=ref ours_kind=ours f name out k settings
    local dialogs
    dialogs=$(sds_dialogs "$group")
    [ -n "$dialogs" ] || return 0
    mapfile -t settings < <(sds_group_settings "$group")
    [ "$group" = all ] && ours_kind=all
    local SD_DELIVER=
    [ "$group" = all ] && SD_DELIVER=1
    sd_instance "$group-ref" "$ref_kind" "$sds_port" "${settings[@]}"
    sd_start "$group-ref" || { echo "smtpd: cannot start the reference instance of $group"; record "smtpd-$group-start" 0; return 0; }
    sds_port=$((sds_port + 1))
    if [ -n "$sds_ours" ]; then
        sd_instance "$group-ours" "$ours_kind" "$sds_port" "${settings[@]}"
        sd_start "$group-ours" || echo "smtpd: cannot start our instance of $group"
        sds_port=$((sds_port + 1))
    fi
    for f in $dialogs; do
        name=smtpd-$(basename "$f" .txt)-$group
        case "$name" in *"${CASE_FILTER:-}"*) ;; *) continue;; esac
        out=$SDS_OUT/$name
        mkdir -p "$out"
        # Both sides at once: separate instances, separate ports.
        # (A bare "wait" would also wait for run-all.sh's second lane.)
        local pids=
        sds_run ref "$group" "$f" "$out" & pids=$!
        if [ -n "$sds_ours" ]; then sds_run ours "$group" "$f" "$out" & pids="$pids $!"; fi
        wait $pids
        if [ -z "$sds_ours" ]; then
            sds_pending=$((sds_pending + 1))
            # The reference side at least must have answered.
            if grep -q '^S: [0-9]' "$out/ref.dialog"; then record "$name-ref" 1; else
                echo "FAIL $name-ref (the reference did not answer)"; sed 's/^/    /' "$out/ref.dialog" | head -5; record "$name-ref" 0; fi
            continue
        fi
        for k in dialog log queue; do compare_files "$name-$k" "$out/ref.$k" "$out/ours.$k"; done
    done
    sds_swaks "$group"
    sd_stop "$group-ref"
    [ -n "$sds_ours" ] && sd_stop "$group-ours"
    return 0
}

# sds_swaks GROUP - a few messages sent by swaks (where installed).
sds_swaks() {
    local group=$1 opts=() name side out inst
    command -v swaks >/dev/null 2>&1 || return 0
    case $group in
        basic) opts=(--pipeline) ;;
        tls) opts=(--tls) ;;
        all) opts=() ;;
        *) return 0 ;;
    esac
    name=smtpd-swaks-$group
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    out=$SDS_OUT/$name; mkdir -p "$out"
    for side in ref ours; do
        [ "$side" = ours ] && [ -z "$sds_ours" ] && break
        inst=$group-$side
        sd_log_mark "$inst"
        swaks --server 127.0.0.1 --port "$(sd_port "$inst")" --helo client.example --from a@example.com \
            --to bob@example.net,carol@example.net --header "Subject: swaks $group" --body "swaks body" \
            --timeout 5 "${opts[@]}" 2>&1 \
            | sed -E -e 's/^(=== Trying|=== Connected to) .*/\1 SERVER/' -e 's/^( -> Date:|<~  Date:|  -> Date:) .*/\1 DATE/' \
                -e 's/(Message-Id: <)[^>]*>/\1ID>/' -e 's/(X-Mailer: swaks) .*/\1/' -e 's/queued as [0-9A-F]+/queued as QUEUEID/' \
                -e 's/^(<~?  ?|~> |-> )?(.*Date: ).*/\1\2DATE/' >"$out/$side.dialog"
        sleep 0.5
        sd_settle "$inst"
        { sd_log_since "$inst" smtpd; sd_log_since "$inst" cleanup; } >"$out/$side.log"
        if [ "$group" = all ]; then sds_mailbox "$inst" >"$out/$side.queue"; else
            sd_queue "$inst" | sed -E 's/(Message-Id: <)[^>]*>/\1ID>/; s/(X-Mailer: swaks) .*/\1/' >"$out/$side.queue"; sd_queue_clear "$inst"; fi
    done
    if [ -z "$sds_ours" ]; then
        sds_pending=$((sds_pending + 1))
        if grep -q 'queued as' "$out/ref.dialog"; then record "$name-ref" 1; else echo "FAIL $name-ref"; record "$name-ref" 0; fi
        return 0
    fi
    local k
    for k in dialog log queue; do compare_files "$name-$k" "$out/ref.$k" "$out/ours.$k"; done
}

# sds_pregreet - a client that talks before the greeting. Made
# deterministic with TCP Fast Open: the EHLO travels with the SYN, so it
# is waiting when smtpd accepts the connection and looks for early input.
# Both instances run in a private network namespace, where the
# tcp_fastopen setting (client, server without the socket option, no
# cookie) is ours to change. Two listeners: smtpd_forbid_unauth_pipelining
# = no (logged, then served) and = yes (554, disconnect).
sds_pregreet() {
    local ns side port inst i out=$SDS_OUT/smtpd-pregreet name
    command -v unshare >/dev/null && command -v nsenter >/dev/null || { echo "smtpd: pregreet skipped (unshare, nsenter)"; return 0; }
    unshare -n sleep 120 &
    ns=$!
    sleep 0.2
    if ! nsenter -t "$ns" -n sh -c 'ip link set lo up && sysctl -q -w net.ipv4.tcp_fastopen=1543' >/dev/null 2>&1; then
        kill "$ns"; echo "smtpd: pregreet skipped (no private network namespace)"; return 0
    fi
    mkdir -p "$out"
    printf '%s\n' "@read" "QUIT" >"$out/script"
    port=42190
    for side in ref ours; do
        [ "$side" = ours ] && [ -z "$sds_ours" ] && break
        inst=pregreet-$side
        sd_instance "$inst" "$side" "$port" "${sds_common[@]}" -- \
            "127.0.0.1:$((port + 1)) inet n - n - - smtpd -o smtpd_forbid_unauth_pipelining=yes"
        nsenter -t "$ns" -n "$REF_SBIN/postfix" -c "$SD_T/$inst/conf" start >/dev/null 2>&1
        for i in $(seq 1 100); do
            nsenter -t "$ns" -n ss -Hltn "sport = :$((port + 1))" 2>/dev/null | grep -q . && break
            sleep 0.1
        done
        for i in 0 1; do
            nsenter -t "$ns" -n python3 "$SD_DIALOG" --timeout 5 --fastopen 'EHLO early.example\r\n' \
                127.0.0.1 $((port + i)) "$out/script" 2>&1
        done >"$out/$side.dialog"
        sds_wait_disconnect "$inst" 1
        sd_log "$inst" smtpd >"$out/$side.log"
        sd_stop "$inst"
        port=$((port + 2))
    done
    kill "$ns" 2>/dev/null
    if [ -z "$sds_ours" ]; then
        sds_pending=$((sds_pending + 1))
        if grep -q 'improper command pipelining after CONNECT' "$out/ref.log"; then record smtpd-pregreet-ref 1; else
            echo "FAIL smtpd-pregreet-ref"; sed 's/^/    /' "$out/ref.dialog" "$out/ref.log"; record smtpd-pregreet-ref 0; fi
        return 0
    fi
    for name in dialog log; do compare_files "smtpd-pregreet-$name" "$out/ref.$name" "$out/ours.$name"; done
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1 \
    || ! command -v python3 >/dev/null 2>&1; then
    echo "smtpd: skipped: needs root, the postfix and nobody users, openssl and python3"
else
    trap 'sd_stop_all; rm -rf "$COMPAT_TMP"' EXIT
    mkdir -p "$SD_T/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SD_T/tls/key.pem" -out "$SD_T/tls/cert.pem" -days 2 \
        -subj /CN=mail.example.com >/dev/null 2>&1
    chmod 600 "$SD_T/tls/key.pem"; chmod 644 "$SD_T/tls/cert.pem"
    sds_ours=
    if sd_ours_ready; then sds_ours=1; else echo "smtpd: our smtpd does not answer SMTP yet ($OUR_LIBEXEC/smtpd): reference side only"; fi
    sds_pending=0
    sds_port=42110
    echo "refused@example.net REJECT the filter refuses this one" >"$SD_T/proxy-refused"
    for sds_g in basic strict limits bare-normalize bare-reject xclient tls tls-required bs deadline proxy proxy-speed all; do
        if [ "$sds_g" = all ] && { [ -z "$sds_ours" ] || [ ! -x "$OUR_SBIN/postfix" ] || [ ! -x "$OUR_LIBEXEC/master" ]; }; then
            # The all-ours group needs every one of our programs; the
            # reference side alone still shows that the dialogues work.
            sds_ours_saved=$sds_ours; sds_ours=
            sds_group "$sds_g"
            sds_ours=$sds_ours_saved
            continue
        fi
        sds_group "$sds_g"
    done
    case smtpd-pregreet in *"${CASE_FILTER:-}"*) sds_pregreet ;; esac
    [ "$sds_pending" -gt 0 ] && echo "smtpd: $sds_pending comparisons pending (our side did not run)"
    sd_stop_all
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
