# smtpd-restrict.sh - the SMTP access restrictions (smtpd_check.c), ours
# against the reference's, restriction by restriction.
# Two instances with the same main.cf and master.cf (smtpd-lib.sh): one run
# by the reference's daemons, one with our smtpd swapped in. master.cf has
# one smtpd listener per case, each with its restriction lists as -o
# overrides, so that each side is started once. Per case a client
# dialogue (smtp-dialog.py) runs on both sides; compared: the transcript
# (reply codes and texts) and the smtpd log lines the dialogue caused
# (reject, reject_warning, hold, discard, filter, redirect, warn ...,
# warnings; connect/disconnect lines are smtpd's business, not compared).
# DNS-based restrictions ask a dnsmasq on 127.83.0.5 serving test zones:
# both instances run in a mount namespace whose /etc/resolv.conf names it.
# Policy services: postgrey on a loopback port (own database directory)
# and policyd-spf spawned by spawn(8), plus an endpoint where nothing
# listens (the default action).
# Until our smtpd answers SMTP only the reference's side runs.
# Needs root, the postfix and nobody users, unshare, dnsmasq and python3;
# postgrey and policyd-spf cases are skipped when those are missing.

SD_PROBE_PORT=42998
. "$here/smtpd-lib.sh"
SR_OUT=$COMPAT_TMP/smtpd-restrict
SR_DNS=127.83.0.5
SR_PORT=42310
SR_PG_PORT=42399
mkdir -p "$SR_OUT"

# sr_cases - NAME|OVERRIDES (comma-free -o settings separated by spaces)|DIALOGUE
# (dialogue lines separated by ';'). Each case gets the next port.
sr_cases() {
    cat <<'EOF'
access-actions|-o smtpd_recipient_restrictions=check_recipient_access,texthash:INST/rcpt.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<reject@example.net>;RCPT TO:<text@example.net>;RCPT TO:<defer@example.net>;RCPT TO:<code@example.net>;RCPT TO:<code4@example.net>;RCPT TO:<code4dsn@example.net>;RCPT TO:<ok@example.net>;RCPT TO:<num@example.net>;RCPT TO:<dunno@example.net>;RCPT TO:<warn@example.net>;RCPT TO:<info@example.net>;RCPT TO:<user@anywhere.example.net>;RCPT TO:<someone@example.org>;RCPT TO:<x@sub.example.org>;RCPT TO:<table@example.net>;RCPT TO:<empty@example.net>;QUIT
access-saved|-o smtpd_recipient_restrictions=check_recipient_access,texthash:INST/rcpt.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<hold@example.net>;RCPT TO:<filter@example.net>;RCPT TO:<badfilter@example.net>;RCPT TO:<redirect@example.net>;RCPT TO:<badredirect@example.net>;RCPT TO:<bcc@example.net>;RCPT TO:<prepend@example.net>;RCPT TO:<badprepend@example.net>;RCPT TO:<discard@example.net>;RCPT TO:<after-discard@example.net>;RSET;QUIT
access-defer-if|-o smtpd_recipient_restrictions=check_recipient_access,texthash:INST/rcpt.access,reject|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<dir@example.net>;RCPT TO:<dip@example.net>;RCPT TO:<dipok@example.net>;RCPT TO:<ok@example.net>;RCPT TO:<class@example.net>;QUIT
access-class-helo|-o smtpd_recipient_restrictions=check_recipient_access,texthash:INST/rcpt.access|HELO nodots;MAIL FROM:<a@host-only.test>;RCPT TO:<class@example.net>;RCPT TO:<ok@example.net>;QUIT
access-sender|-o smtpd_sender_restrictions=reject_non_fqdn_sender,check_sender_access,texthash:INST/sender.access,reject_unknown_sender_domain,reject_rhsbl_sender,rhs.test|EHLO client.test;MAIL FROM:<a@bare>;RCPT TO:<bob@example.net>;RSET;MAIL FROM:<>;RCPT TO:<bob@example.net>;RSET;MAIL FROM:<spam@blocked.test>;RCPT TO:<bob@example.net>;RSET;MAIL FROM:<a@nx.test>;RCPT TO:<bob@example.net>;RSET;MAIL FROM:<a@rhslisted.test>;RCPT TO:<bob@example.net>;RSET;MAIL FROM:<bad@example.net>;RCPT TO:<bob@example.net>;RSET;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
access-sender-early|-o smtpd_delay_reject=no -o smtpd_sender_restrictions=check_sender_access,texthash:INST/sender.access|EHLO client.test;MAIL FROM:<spam@blocked.test>;MAIL FROM:<>;RCPT TO:<bob@example.net>;QUIT
client-access|-o smtpd_client_restrictions=check_client_access,texthash:INST/client.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
client-early|-o smtpd_delay_reject=no -o smtpd_client_restrictions=check_client_access,texthash:INST/client.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
client-unknown|-o smtpd_client_restrictions=reject_unknown_reverse_client_hostname,permit_inet_interfaces,reject|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
helo|-o smtpd_helo_required=yes -o smtpd_helo_restrictions=reject_invalid_helo_hostname,reject_non_fqdn_helo_hostname,check_helo_access,texthash:INST/helo.access,reject_unknown_helo_hostname|MAIL FROM:<a@host-only.test>;HELO bad_name!;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;RSET;HELO nodots;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;RSET;HELO [1.2.3.999];MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;RSET;HELO blocked.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;RSET;HELO nohost.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;RSET;HELO host-only.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
helo-early|-o smtpd_delay_reject=no -o smtpd_helo_restrictions=check_helo_access,texthash:INST/helo.access|HELO blocked.test;HELO fine.test;MAIL FROM:<a@host-only.test>;QUIT
rbl-client|-o smtpd_client_restrictions=reject_rbl_client,rbl.test|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
rbl-reply-map|-o smtpd_client_restrictions=reject_rbl_client,rbl.test=127.0.0.[3..9],reject_rbl_client,rbl2.test -o rbl_reply_maps=texthash:INST/rbl.reply|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
rbl-dnswl|-o smtpd_client_restrictions=permit_dnswl_client,wl.test,reject_rbl_client,rbl.test|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
rbl-warn|-o smtpd_client_restrictions=warn_if_reject,reject_rbl_client,rbl.test,reject_rhsbl_helo,rhs.test|EHLO rhslisted.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
rbl-default-reply|-o smtpd_sender_restrictions=reject_rhsbl_sender,rhs.test -o maps_rbl_reject_code=521|EHLO client.test;MAIL FROM:<x@rhslisted.test>;RCPT TO:<bob@example.net>;QUIT
mx-access|-o smtpd_recipient_restrictions=check_recipient_mx_access,texthash:INST/mx.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<a@mxaddr.test>;RCPT TO:<a@host-only.test>;RCPT TO:<a@mxbad.test>;RCPT TO:<never@example.net>
mx-ns-a-access|-o smtpd_sender_restrictions=check_sender_ns_access,texthash:INST/mx.access -o smtpd_helo_restrictions=check_helo_a_access,texthash:INST/mx.access|EHLO a-blocked.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;RSET;EHLO client.test;MAIL FROM:<a@nsdom.test>;RCPT TO:<bob@example.net>;QUIT
helo-mx-access|-o smtpd_helo_restrictions=check_helo_mx_access,texthash:INST/mx.access|EHLO mxaddr.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
recipient-a-access|-o smtpd_recipient_restrictions=check_recipient_a_access,texthash:INST/client.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<a@mxaddr.test>;RCPT TO:<a@host-only.test>;RCPT TO:<a@[127.0.0.1]>;QUIT
relay-denied|-o mynetworks=10.0.0.0/8|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;RCPT TO:<postmaster>;QUIT
relay-defer|-o mynetworks=10.0.0.0/8 -o smtpd_relay_restrictions=defer_unauth_destination|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
relay-soft-bounce|-o mynetworks=10.0.0.0/8 -o soft_bounce=yes|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
relay-mx-backup|-o mynetworks=10.0.0.0/8 -o smtpd_relay_restrictions=permit_mx_backup,reject_unauth_destination|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<a@backup.test>;RCPT TO:<a@mxaddr.test>;QUIT
relay-domains|-o mynetworks=10.0.0.0/8|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<known@relay.test>;RCPT TO:<unknown@relay.test>;RCPT TO:<x@other.test>;QUIT
unknown-recipients||EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<known@mail.example.com>;RCPT TO:<who@mail.example.com>;RCPT TO:<postmaster@mail.example.com>;RCPT TO:<alias@valias.test>;RCPT TO:<nobody@valias.test>;QUIT
unlisted-sender|-o smtpd_reject_unlisted_sender=yes|EHLO client.test;MAIL FROM:<who@mail.example.com>;RCPT TO:<bob@example.net>;RSET;MAIL FROM:<known@mail.example.com>;RCPT TO:<bob@example.net>;QUIT
address-checks|-o smtpd_recipient_restrictions=reject_non_fqdn_recipient,reject_unknown_recipient_domain,reject_multi_recipient_bounce|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<a@bare>;RCPT TO:<a@nx.test>;RCPT TO:<a@nullmx.test>;RCPT TO:<a@host-only.test>;RSET;MAIL FROM:<>;RCPT TO:<a@host-only.test>;RCPT TO:<b@host-only.test>;QUIT
warn-if-reject|-o smtpd_recipient_restrictions=warn_if_reject,reject_non_fqdn_recipient,warn_if_reject,defer,permit|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<a@bare>;QUIT
defer-if|-o smtpd_recipient_restrictions=defer_if_permit,permit|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
defer-if-reject|-o smtpd_recipient_restrictions=defer_if_reject,reject|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
bad-restriction|-o smtpd_recipient_restrictions=frobnicate|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
bad-map-argument|-o smtpd_recipient_restrictions=check_recipient_access,reject|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
bare-table|-o smtpd_recipient_restrictions=texthash:INST/rcpt.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<reject@example.net>;RCPT TO:<ok@example.net>;QUIT
data-restrictions|-o smtpd_data_restrictions=reject_multi_recipient_bounce -o smtpd_end_of_data_restrictions=check_sender_access,texthash:INST/sender.access|EHLO client.test;MAIL FROM:<>;RCPT TO:<a@example.net>;RCPT TO:<b@example.net>;DATA;RSET;MAIL FROM:<eod@host-only.test>;RCPT TO:<a@example.net>;DATA;Subject: x;;body;.;QUIT
etrn|-o smtpd_etrn_restrictions=check_etrn_access,texthash:INST/etrn.access|EHLO client.test;ETRN blocked.test;QUIT
reverse-client|-o smtpd_client_restrictions=check_reverse_client_hostname_access,texthash:INST/rev.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
rhsbl-client|-o smtpd_client_restrictions=reject_rhsbl_client,rhsc.test|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
rhswl-client|-o smtpd_client_restrictions=permit_rhswl_client,rhsc.test,reject|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
plaintext|-o smtpd_sender_restrictions=reject_plaintext_session|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
null-key|-o smtpd_null_access_lookup_key=<NULL> -o smtpd_sender_restrictions=check_sender_access,texthash:INST/sender.access|EHLO client.test;MAIL FROM:<>;RCPT TO:<bob@example.net>;QUIT
permit-logging|-o smtpd_log_access_permit_actions=static:all -o smtpd_recipient_restrictions=check_recipient_access,texthash:INST/rcpt.access|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<ok@example.net>;RCPT TO:<bob@example.net>;QUIT
unauth-pipelining|-o smtpd_data_restrictions=reject_unauth_pipelining|HELO client.test;@pipeline;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;@end;DATA;QUIT
unverified|-o smtpd_recipient_restrictions=reject_unverified_recipient -o address_verify_poll_count=1|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<v@nx.test>;QUIT
policy-down|-o smtpd_recipient_restrictions=check_policy_service,inet:127.0.0.1:1|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
policy-down-override|-o smtpd_recipient_restrictions=check_policy_service,{inet:127.0.0.1:1,try_limit=1,default_action=DUNNO},reject|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
policy-postgrey|-o smtpd_recipient_restrictions=check_policy_service,inet:127.0.0.1:SR_PG_PORT|EHLO client.test;MAIL FROM:<a@host-only.test>;RCPT TO:<grey@example.net>;QUIT
policy-spf|-o smtpd_recipient_restrictions=check_policy_service,unix:private/spfpolicy|EHLO host-only.test;MAIL FROM:<a@spf.test>;RCPT TO:<bob@example.net>;RSET;MAIL FROM:<a@host-only.test>;RCPT TO:<bob@example.net>;QUIT
EOF
}

# sr_tables DIR - the access tables every case may use.
sr_tables() {
    local d=$1
    cat >"$d/rcpt.access" <<'EOF'
reject@example.net REJECT
text@example.net REJECT custom text here
defer@example.net DEFER
code@example.net 550 5.1.1 no such user here
code4@example.net 450 try later
code4dsn@example.net 452 4.2.2 mailbox full
ok@example.net OK
num@example.net 1234567
dunno@example.net DUNNO
warn@example.net WARN watch this one
info@example.net INFO just saying
user@ REJECT local part blocked
example.org REJECT domain blocked
table@example.net hash:/etc/does-not-matter
hold@example.net HOLD
filter@example.net FILTER smtp:[127.0.0.1]:9
badfilter@example.net FILTER nocolon
redirect@example.net REDIRECT other@example.org
badredirect@example.net REDIRECT nobody
bcc@example.net BCC copy@example.org
prepend@example.net PREPEND X-Test: prepended
badprepend@example.net PREPEND no header here
discard@example.net DISCARD
dir@example.net DEFER_IF_REJECT maybe later
dip@example.net DEFER_IF_PERMIT wait a bit
dipok@example.net DEFER_IF_PERMIT 4.7.5 wait more
class@example.net strict_class
EOF
    printf '<> OK\n<NULL> REJECT null sender refused\nblocked.test REJECT sender domain blocked\neod@host-only.test REJECT not at end of data\nbad@example.net 550 5.1.8 sender dsn fix\n' >"$d/sender.access"
    printf '127.0.0.1 REJECT client blocked\n' >"$d/client.access"
    printf 'blocked.test REJECT helo blocked\n' >"$d/helo.access"
    printf 'mx.example.net 421 4.7.0 mx host blocked, closing\n127.0.0.98 REJECT mx address blocked\nns.blocked-ns.test REJECT name server blocked\n127.0.0.95 REJECT helo address blocked\n' >"$d/mx.access"
    printf 'rbl2.test $rbl_code 5.7.9 custom: $rbl_class [$rbl_what] in $rbl_domain (${rbl_reason?$rbl_reason}${rbl_reason:no reason}) client $client_address\n' >"$d/rbl.reply"
    printf 'known@relay.test x\n' >"$d/relay.users"
    printf 'known@mail.example.com x\n' >"$d/local.users"
    printf 'alias@valias.test known@mail.example.com\n' >"$d/valias"
    printf 'blocked.test REJECT no etrn for you\n' >"$d/etrn.access"
    printf 'localhost REJECT reverse name blocked\n' >"$d/rev.access"
    cat >"$d/spf.conf" <<'EOF'
debugLevel = 0
TestOnly = 1
HELO_reject = Fail
Mail_From_reject = Fail
PermError_reject = False
TempError_Defer = False
skip_addresses = 192.0.2.250/32
EOF
}

# sr_start NAME - start an instance inside a mount namespace whose
# /etc/resolv.conf names the test DNS server.
sr_start() {
    local d=$SD_T/$1 i
    unshare -m sh -c "mount --bind $SR_OUT/resolv.conf /etc/resolv.conf && $REF_SBIN/postfix -c $d/conf start" >"$d/start.out" 2>&1 \
        || { cat "$d/start.out" >&2; return 1; }
    for i in $(seq 1 100); do
        sd_listening "$2" && return 0
        sleep 0.1
    done
    return 1
}

# sr_script CASE-DIALOGUE FILE - a dialogue file from the ';'-separated form.
sr_script() {
    local IFS=';' line
    : >"$2"
    # shellcheck disable=SC2086
    for line in $1; do printf '%s\n' "$line" >>"$2"; done
}

sr_disconnects() { grep -a -c " postfix/smtpd\[[0-9]*\]: \(disconnect from\|fatal:\)" "$SD_T/$1/maillog" 2>/dev/null || true; }

# sr_run SIDE NAME PORT SCRIPT OUT - one dialogue, its transcript and log lines.
sr_run() {
    local side=$1 inst=sr-$1 port=$3 before i
    before=$(sr_disconnects "$inst")
    sd_log_mark "$inst"
    python3 "$SD_DIALOG" --timeout 8 127.0.0.1 "$port" "$4" 2>&1 | sed -e "s#$SD_T/$inst#INST#g" >"$5/$side.dialog"
    for i in $(seq 1 40); do
        [ "$(sr_disconnects "$inst")" -gt "$before" ] && break
        sleep 0.1
    done
    sleep 0.2
    sd_log_since "$inst" smtpd | sed -E -e 's/^TIME ([^ ]+ )?postfix\/smtpd\[PID\]: //' \
        -e '/^(connect from|disconnect from|lost connection|timeout after) /d' -e '/^QID: client=/d' \
        -e "s/:$port\b/:PORT/g" >"$5/$side.log"
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 || ! command -v unshare >/dev/null \
    || [ ! -x /usr/sbin/dnsmasq ] || ! command -v python3 >/dev/null 2>&1; then
    echo "smtpd-restrict: skipped: needs root, the postfix and nobody users, unshare, dnsmasq and python3"
else
    sr_pids=
    sr_cleanup() {
        sd_stop_all
        [ -n "$sr_pids" ] && kill $sr_pids 2>/dev/null
        [ -f "$SR_OUT/dnsmasq.pid" ] && kill "$(cat "$SR_OUT/dnsmasq.pid")" 2>/dev/null
        return 0
    }
    trap 'sr_cleanup; [ -n "${SR_KEEP:-}" ] || rm -rf "$COMPAT_TMP"' EXIT
    printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$SR_DNS" >"$SR_OUT/resolv.conf"
    chmod 644 "$SR_OUT/resolv.conf"
    # NS rdata of nsdom.test: ns.blocked-ns.test in wire form.
    sr_ns_rdata=026e730a626c6f636b65642d6e73047465737400
    /usr/sbin/dnsmasq --no-resolv --no-hosts --conf-file=/dev/null --bind-interfaces --listen-address=$SR_DNS --port=53 \
        --pid-file="$SR_OUT/dnsmasq.pid" --local=/test/ --local=/example.net/ --local=/example.org/ \
        --host-record=localhost,127.0.0.1 --ptr-record=1.0.0.127.in-addr.arpa,localhost \
        --host-record=host-only.test,127.0.0.1 \
        --host-record=1.0.0.127.rbl.test,127.0.0.2 --txt-record=1.0.0.127.rbl.test,"listed for testing" \
        --host-record=1.0.0.127.rbl2.test,127.0.0.4 \
        --host-record=1.0.0.127.wl.test,127.0.10.1 \
        --host-record=rhslisted.test.rhs.test,127.0.0.2 --txt-record=rhslisted.test.rhs.test,"domain listed" \
        --mx-host=mxbad.test,mx.example.net,10 --host-record=mx.example.net,127.0.0.99 \
        --mx-host=mxaddr.test,mxaddr-host.test,10 --host-record=mxaddr-host.test,127.0.0.98 \
        --mx-host=backup.test,primary.test,10 --mx-host=backup.test,host-only.test,20 --host-record=primary.test,127.0.0.97 \
        --mx-host=nullmx.test,.,0 \
        --dns-rr=nsdom.test,2,$sr_ns_rdata --host-record=ns.blocked-ns.test,127.0.0.96 \
        --host-record=a-blocked.test,127.0.0.95 --host-record=localhost.rhsc.test,127.0.0.2 \
        --txt-record=spf.test,"v=spf1 ip4:192.0.2.1 -all" --host-record=spf.test,192.0.2.1 \
        --txt-record=host-only.test,"v=spf1 ip4:127.0.0.1 -all" \
        >"$SR_OUT/dnsmasq.out" 2>&1 || echo "smtpd-restrict: dnsmasq did not start: $(cat "$SR_OUT/dnsmasq.out")"
    # postgrey on a loopback port with its own database (stopped by PID).
    sr_pg=
    if [ -x /usr/sbin/postgrey ]; then
        mkdir -p "$SR_OUT/postgrey"; chown postgrey "$SR_OUT/postgrey" 2>/dev/null || chown nobody "$SR_OUT/postgrey"
        pg_user=postgrey; id postgrey >/dev/null 2>&1 || pg_user=nobody
        /usr/sbin/postgrey --inet=127.0.0.1:$SR_PG_PORT --dbdir="$SR_OUT/postgrey" --delay=3600 --user=$pg_user \
            --pidfile="$SR_OUT/postgrey.pid" --whitelist-clients=/dev/null --whitelist-recipients=/dev/null \
            --auto-whitelist-clients=0 --greylist-text="Greylisted for testing" >"$SR_OUT/postgrey.out" 2>&1 &
        sr_pids="$sr_pids $!"
        for i in $(seq 1 50); do sd_listening $SR_PG_PORT && { sr_pg=1; break; }; sleep 0.1; done
    fi
    sr_spf=
    [ -x /usr/bin/policyd-spf ] && sr_spf=1

    sr_ours=
    if sd_ours_ready; then sr_ours=1; else echo "smtpd-restrict: our smtpd does not answer SMTP yet ($OUR_LIBEXEC/smtpd): reference side only"; fi

    # master.cf: one listener per case (ours on ports 100 higher).
    sr_main=("smtpd_error_sleep_time = 0" "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"
        "smtpd_restriction_classes = strict_class" "strict_class = reject_non_fqdn_helo_hostname, reject"
        "spfpolicy_time_limit = 3600s" "smtpd_policy_service_retry_delay = 1s" "fast_flush_domains ="
        "mydestination = mail.example.com" "local_recipient_maps = texthash:INST/local.users"
        "virtual_alias_domains = valias.test" "virtual_alias_maps = texthash:INST/valias"
        "relay_domains = relay.test" "relay_recipient_maps = texthash:INST/relay.users")
    for sr_side in ref ours; do
        [ "$sr_side" = ours ] && [ -z "$sr_ours" ] && break
        sr_base=$SR_PORT; [ "$sr_side" = ours ] && sr_base=$((SR_PORT + 100))
        sr_master=()
        sr_port=$sr_base
        while IFS='|' read -r sr_name sr_over sr_dialog; do
            sr_over=${sr_over//SR_PG_PORT/$SR_PG_PORT}
            sr_master+=("127.0.0.1:$sr_port inet n - n - - smtpd $sr_over")
            sr_port=$((sr_port + 1))
        done < <(sr_cases)
        sr_master+=("spfpolicy unix - n n - 0 spawn user=nobody argv=/usr/bin/policyd-spf INST/spf.conf")
        sd_instance "sr-$sr_side" "$sr_side" "$sr_base" "${sr_main[@]}" -- "${sr_master[@]}"
        sed -i '/^mydestination =$/d' "$SD_T/sr-$sr_side/conf/main.cf"
        sr_tables "$SD_T/sr-$sr_side"
        chmod 644 "$SD_T/sr-$sr_side"/*.access "$SD_T/sr-$sr_side"/spf.conf 2>/dev/null
        sr_start "sr-$sr_side" "$sr_base" || echo "smtpd-restrict: cannot start the $sr_side instance"
    done

    sr_pending=0
    sr_port=$SR_PORT
    while IFS='|' read -r sr_name sr_over sr_dialog; do
        port=$sr_port
        sr_port=$((sr_port + 1))
        name=smtpd-restrict-$sr_name
        case "$name" in *"${CASE_FILTER:-}"*) ;; *) continue;; esac
        case $sr_name in
            policy-postgrey) [ -n "$sr_pg" ] || { echo "smtpd-restrict: $name skipped (postgrey did not start)"; continue; } ;;
            policy-spf) [ -n "$sr_spf" ] || { echo "smtpd-restrict: $name skipped (no policyd-spf)"; continue; } ;;
        esac
        out=$SR_OUT/$sr_name
        mkdir -p "$out"
        sr_script "$sr_dialog" "$out/script"
        sr_t0=$(date +%s.%N)
        sr_run ref "$sr_name" "$port" "$out/script" "$out" &
        sr_bg=$!
        [ -n "$sr_ours" ] && sr_run ours "$sr_name" "$((port + 100))" "$out/script" "$out"
        wait $sr_bg
        [ -n "${SR_TIMING:-}" ] && echo "$sr_name: $(echo "$(date +%s.%N) - $sr_t0" | bc) s"
        if [ -z "$sr_ours" ]; then
            sr_pending=$((sr_pending + 1))
            if grep -q '^S: [0-9]\|^S: <closed>' "$out/ref.dialog"; then record "$name-ref" 1; else
                echo "FAIL $name-ref (the reference did not answer)"; sed 's/^/    /' "$out/ref.dialog" | head -5; record "$name-ref" 0; fi
            continue
        fi
        compare_files "$name-dialog" "$out/ref.dialog" "$out/ours.dialog"
        compare_files "$name-log" "$out/ref.log" "$out/ours.log"
    done < <(sr_cases)
    [ "$sr_pending" -gt 0 ] && echo "smtpd-restrict: $sr_pending comparisons pending (our side did not run)"

    # The example that started the project, through `postfix explain smtp`:
    # smtpd's own restriction engine, offline, must show the MX lookup of
    # the recipient domain, the table hit on the primary MX host and the
    # 421 that drops the connection.
    if [ -x "$OUR_SBIN/postfix" ]; then
        sr_x=$SR_OUT/explain
        mkdir -p "$sr_x"
        printf '%s\n' "compatibility_level = 3.6" "mydestination =" "inet_interfaces = loopback-only" \
            "inet_protocols = ipv4" "alias_maps =" "alias_database =" "local_recipient_maps =" \
            "queue_directory = $sr_x/q" "data_directory = $sr_x/d" \
            "smtpd_relay_restrictions = permit_mynetworks, check_recipient_mx_access texthash:$sr_x/mx.access, reject_unauth_destination" \
            >"$sr_x/main.cf"
        printf 'smtp inet n - n - - smtpd\n' >"$sr_x/master.cf"
        printf 'mx.example.net 421 4.7.0 mx host blocked, closing\n' >"$sr_x/mx.access"
        POSTFIX_RESOLV_CONF=$SR_OUT/resolv.conf "$OUR_SBIN/postfix" -c "$sr_x" explain smtp --client 192.0.2.7 \
            --helo client.test --from a@example.org --to a@mxbad.test >"$sr_x/out" 2>"$sr_x/err"
        sr_ok=1
        for sr_want in \
            '^    check_recipient_mx_access texthash:[^ ]* -> 421 4\.7\.0 <a@mxbad\.test>: Recipient address rejected: mx host blocked, closing$' \
            '^      dns mxbad\.test MX: mxbad\.test\. [0-9]* IN MX 10 mx\.example\.net\.$' \
            '^      lookup texthash:[^ ]* key "mx\.example\.net": 421 4\.7\.0 mx host blocked, closing$' \
            '^  => 421 4\.7\.0 <a@mxbad\.test>: Recipient address rejected: mx host blocked, closing$'; do
            grep -q -- "$sr_want" "$sr_x/out" || { sr_ok=0; echo "FAIL smtpd-restrict-explain-mx-example (missing: $sr_want)"; }
        done
        [ "$sr_ok" = 1 ] || sed 's/^/    /' "$sr_x/out" "$sr_x/err" | head -20
        record smtpd-restrict-explain-mx-example "$sr_ok"
    fi
    sr_cleanup
    trap '[ -n "${SR_KEEP:-}" ] || rm -rf "$COMPAT_TMP"' EXIT
fi
