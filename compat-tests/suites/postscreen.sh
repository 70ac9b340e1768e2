# postscreen.sh - postscreen(8) and dnsblog(8): the reference's pair and ours
# in the same configuration, in front of an smtpd "pass" service.
#
# Instances (smtpd-lib.sh, delivering to local mailboxes):
#   psc-ref   the reference's postscreen, dnsblog and smtpd
#   psc-ours  OUR postscreen and dnsblog, the reference's smtpd
#   psc-mix   the reference's postscreen and dnsblog, OUR smtpd as the pass service
# Clients connect from different loopback addresses (127.0.0.N): the access
# list (permit_mynetworks, a cidr: table), the DNSBL score (dnsmasq on
# 127.87.0.5 serves bl.test and wl.test; both instances run in a mount
# namespace whose /etc/resolv.conf names it), the pregreet test (a client
# that talks before the greeting), a client that passes (PASS NEW), goes
# through to smtpd and delivers, then comes back (PASS OLD). Compared: the
# postscreen and dnsblog log lines and the SMTP replies of each case.
# Needs root, the postfix and nobody users, unshare, dnsmasq and python3.

PSC_OUT=$COMPAT_TMP/postscreen
PSC_DNS=127.87.0.5
mkdir -p "$PSC_OUT"
. "$(dirname "${BASH_SOURCE[0]}")/../smtpd-lib.sh"

# The client: connect from SRC, optionally talk first, print the replies.
cat >"$PSC_OUT/client.py" <<'EOF'
import socket, sys, time
src, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.settimeout(8)
s.bind((src, 0))
s.connect(("127.0.0.1", port))
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        try:
            l = f.readline()
        except socket.timeout:
            lines.append("<timeout>"); break
        except ConnectionResetError:
            lines.append("<closed>"); break
        if not l:
            lines.append("<closed>"); break
        t = l.decode("latin-1").rstrip("\r\n")
        lines.append(t)
        if len(t) < 4 or t[3] != "-":
            break
    return lines
def say(cmd):
    print("C: " + cmd)
    s.sendall(cmd.encode() + b"\r\n")
    r = reply()
    for l in r:
        print("S: " + l)
    return r
if mode in ("early", "early-enforce"):
    s.sendall(b"EHLO early.example\r\n")
    print("C: EHLO early.example (before the greeting)")
r = reply()
for l in r:
    print("S: " + l)
if r[-1].startswith("220 ") and mode in ("quit", "mail"):
    say("EHLO client.example")
    if mode == "mail":
        say("MAIL FROM:<sender@example.com>")
        say("RCPT TO:<nobody@localhost>")
        if say("DATA")[-1].startswith("354"):
            s.sendall(b"Subject: through postscreen\r\n\r\nhello\r\n.\r\n")
            for l in reply():
                print("S: " + l)
    say("QUIT")
elif mode == "early" and not r[-1].startswith("<"):
    for l in reply():
        print("S: " + l)
elif mode == "enforce":
    # The dummy SMTP engine of postscreen: every RCPT is rejected.
    for c in ("HELO", "EHLO client.example", "MAIL FROM:<sender@example.com>", "MAIL FROM:<x@example.com>",
              "RCPT TO:<nobody@localhost>", "VRFY nobody", "ETRN example.com", "NOOP", "BOGUS", "RSET",
              "RCPT TO:<a@b>", "MAIL FROM:<\"q u\"@example.com> SIZE=10", "RCPT TO:<@route:x@example.com>", "DATA"):
        say(c)
    for l in reply():
        print("S: " + l)
elif mode == "early-enforce":
    for c in ("MAIL FROM:<>", "RCPT TO:<nobody@localhost>", "BDAT 10 LAST"):
        say(c)
    for l in reply():
        print("S: " + l)
EOF

# psc_case NAME SRC MODE - run the client against psc-ref and psc-ours at
# once, compare the transcripts and the postscreen/dnsblog log lines.
psc_case() {
    local name=$1 src=$2 mode=$3 d inst
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    d=$PSC_OUT/cases/$name; mkdir -p "$d"
    local a=${PSC_A:-psc-ref} b=${PSC_B:-psc-ours}
    for inst in $a $b; do sd_log_mark "$inst"; done
    python3 "$PSC_OUT/client.py" "$src" "$(sd_port $a)" "$mode" >"$d/ref.dialog" 2>&1 &
    local p1=$!
    python3 "$PSC_OUT/client.py" "$src" "$(sd_port $b)" "$mode" >"$d/ours.dialog" 2>&1 &
    local p2=$!
    wait $p1 $p2
    psc_wait_log $a "$4"; psc_wait_log $b "$4"
    for inst in $a $b; do
        { sd_log_since "$inst" postscreen; sd_log_since "$inst" dnsblog; } | psc_norm >"$d/$inst.log"
    done
    sed -i 's/queued as [0-9A-F]*/queued as QID/' "$d/ref.dialog" "$d/ours.dialog"
    local ok=1
    diff -u "$d/ref.dialog" "$d/ours.dialog" >"$d/dialog.diff" || ok=0
    diff -u "$d/$a.log" "$d/$b.log" >"$d/log.diff" || ok=0
    # Each case asserts its own verdict on the reference side too.
    grep -q -- "$5" "$d/$a.log" "$d/ref.dialog" || { ok=0; echo "postscreen $name: reference lacks \"$5\"" >"$d/expect.diff"; }
    if [ $ok = 0 ] && [ -n "${VERBOSE:-}" ]; then cat "$d/dialog.diff" "$d/log.diff" "$d/expect.diff" 2>/dev/null; fi
    record "postscreen $name" $ok
    [ -z "${VERBOSE:-}" ] || echo "     ($name done at $SECONDS s)"
}

# psc_wait_log INST TEXT - until postscreen has logged TEXT (3 s max).
psc_wait_log() {
    local i
    for i in $(seq 1 30); do
        sd_log_since "$1" postscreen | grep -q -- "${2:-DISCONNECT\|PASS\|LISTED}" && break
        sleep 0.1
    done
    sleep 0.2
}

psc_norm() {
    sed -E -e 's/^TIME ([^ ]+ )?postfix\/(postscreen|dnsblog)\[PID\]: /\2: /' \
        -e '/ cache [^ ]+ full cleanup: /d' -e 's/\]:[0-9]+/]:PORT/g' -e 's/ after [0-9.]+ from / after T from /' | LC_ALL=C sort
}

psc_start() {
    local d=$SD_T/$1 i
    unshare -m sh -c "mount --bind $PSC_OUT/resolv.conf /etc/resolv.conf && $(sd_sbin "$1")/postfix -c $d/conf start" >"$d/start.out" 2>&1 \
        || { cat "$d/start.out" >&2; return 1; }
    for i in $(seq 1 100); do
        sd_listening "$(sd_port "$1")" && return 0
        sleep 0.1
    done
    return 1
}

# psc_make NAME PORT DAEMONS... - an instance whose daemon directory has
# our DAEMONS swapped in (DAEMONS "ALL": an instance entirely of ours).
# PSC_EXTRA: main.cf lines added at the end.
psc_make() {
    local name=$1 port=$2 kind=ref libexec; shift 2
    if [ "${1:-}" = ALL ]; then
        kind=all; libexec=$OUR_LIBEXEC
    else
        mixed_daemon_dir "$SD_T/$name.libexec" "$@"; libexec=$SD_T/$name.libexec
    fi
    SD_DELIVER=1 sd_instance "$name" $kind "$port" \
        "daemon_directory = $libexec" \
        "mynetworks = 127.0.0.9/32" \
        "postscreen_access_list = permit_mynetworks, cidr:INST/conf/psc_access.cidr" \
        "postscreen_denylist_action = drop" \
        "postscreen_greet_wait = 1s" \
        "postscreen_greet_action = drop" \
        "postscreen_dnsbl_sites = bl.test=127.0.0.[2..3]*2, wl.test*-1" \
        "postscreen_dnsbl_threshold = 2" \
        "postscreen_dnsbl_action = drop" \
        "smtpd_client_restrictions =" \
        ${PSC_EXTRA:+"${PSC_EXTRA[@]}"} \
        -- "127.0.0.1:$port inet n - n - 1 postscreen" \
        "smtpd pass - - n - - smtpd" \
        "dnsblog unix - - n - 0 dnsblog"
    printf '127.0.0.7 reject\n127.0.0.8 permit\n' >"$SD_T/$name/conf/psc_access.cidr"
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 || ! command -v unshare >/dev/null \
    || [ ! -x /usr/sbin/dnsmasq ] || ! command -v python3 >/dev/null 2>&1; then
    echo "postscreen: skipped: needs root, the postfix and nobody users, unshare, dnsmasq and python3"
elif [ ! -x "$OUR_LIBEXEC/postscreen" ] || [ ! -x "$OUR_LIBEXEC/dnsblog" ]; then
    echo "postscreen: skipped: no $OUR_LIBEXEC/postscreen or dnsblog"
else
    psc_cleanup() {
        sd_stop_all
        [ -f "$PSC_OUT/dnsmasq.pid" ] && kill "$(cat "$PSC_OUT/dnsmasq.pid")" 2>/dev/null
        return 0
    }
    trap 'psc_cleanup; [ -n "${PSC_KEEP:-}" ] || rm -rf "$COMPAT_TMP"' EXIT
    printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$PSC_DNS" >"$PSC_OUT/resolv.conf"
    chmod 644 "$PSC_OUT/resolv.conf"
    /usr/sbin/dnsmasq --no-resolv --no-hosts --conf-file=/dev/null --bind-interfaces --listen-address=$PSC_DNS --port=53 \
        --pid-file="$PSC_OUT/dnsmasq.pid" --local=/test/ --local=/127.in-addr.arpa/ \
        --host-record=2.0.0.127.bl.test,127.0.0.2 \
        --host-record=5.0.0.127.bl.test,127.0.0.4 \
        --host-record=6.0.0.127.bl.test,127.0.0.3 --host-record=6.0.0.127.wl.test,127.0.0.2 \
        >"$PSC_OUT/dnsmasq.out" 2>&1 || echo "postscreen: dnsmasq did not start: $(cat "$PSC_OUT/dnsmasq.out")"
    psc_make psc-ref 42561
    psc_make psc-ours 42562 postscreen dnsblog
    # The pregreet test only logs here: an early talker reaches smtpd.
    PSC_EXTRA=("postscreen_greet_action = ignore")
    psc_make psc-mix 42563 smtpd
    psc_make psc-ign-ref 42567
    PSC_EXTRA=()
    psc_all=
    if [ -x "$OUR_LIBEXEC/master" ] && [ -x "$OUR_SBIN/postfix" ]; then
        psc_make psc-all 42566 ALL; psc_all=psc-all
    fi
    PSC_EXTRA=("postscreen_dnsbl_action = enforce" "postscreen_greet_action = enforce")
    psc_make psc-enf-ref 42564
    psc_make psc-enf-ours 42565 postscreen dnsblog
    PSC_EXTRA=()
    psc_ok=1
    psc_pids=
    psc_insts="psc-ref psc-ours psc-mix psc-ign-ref psc-enf-ref psc-enf-ours $psc_all"
    for i in $psc_insts; do psc_start $i >"$PSC_OUT/$i.start" 2>&1 & psc_pids="$psc_pids $!"; done
    wait $psc_pids
    for i in $psc_insts; do
        sd_listening "$(sd_port $i)" || { echo "postscreen: $i did not start: $(cat "$PSC_OUT/$i.start")"; psc_ok=0; }
    done
    if [ $psc_ok = 1 ]; then
        # NAME SRC MODE WAIT-FOR EXPECT
        psc_case mynetworks 127.0.0.9 quit "ALLOWLISTED" "ALLOWLISTED \[127.0.0.9\]"
        psc_case access-permit 127.0.0.8 quit "ALLOWLISTED" "ALLOWLISTED \[127.0.0.8\]"
        psc_case access-reject 127.0.0.7 quit "DISCONNECT" "521 5.3.2 Service currently unavailable"
        psc_case pregreet 127.0.0.10 early "DISCONNECT" "PREGREET 20 after T from \[127.0.0.10\]:PORT: EHLO early.example"
        psc_case dnsbl-listed 127.0.0.2 quit "DISCONNECT" "DNSBL rank 2 for \[127.0.0.2\]"
        psc_case dnsbl-filter-miss 127.0.0.5 quit "PASS" "PASS NEW \[127.0.0.5\]"
        psc_case dnsbl-allowlist-weight 127.0.0.6 quit "PASS" "PASS NEW \[127.0.0.6\]"
        psc_case pass-new-mail 127.0.0.11 mail "PASS" "250 2.0.0 Ok: queued as"
        psc_case pass-old-mail 127.0.0.11 mail "PASS" "PASS OLD \[127.0.0.11\]"
        # postscreen_*_action = enforce: the dummy SMTP engine answers.
        PSC_A=psc-enf-ref PSC_B=psc-enf-ours psc_case enforce-dnsbl 127.0.0.2 enforce "DISCONNECT" \
            "NOQUEUE: reject: RCPT from \[127.0.0.2\]:PORT: 550 5.7.1 Service unavailable; client \[127.0.0.2\] blocked using bl.test; from=<sender@example.com>, to=<nobody@localhost>, proto=ESMTP, helo=<client.example>"
        PSC_A=psc-enf-ref PSC_B=psc-enf-ours psc_case enforce-pregreet 127.0.0.10 early-enforce "DISCONNECT" \
            "NOQUEUE: reject: RCPT from \[127.0.0.10\]:PORT: 550 5.5.1 Protocol error; from=<>, to=<nobody@localhost>, proto=ESMTP, helo=<early.example>"
        # Delivery behind both postscreens.
        sleep 1
        for inst in psc-ref psc-ours; do
            n=$(grep -a -c "postfix/local\[.*to=<nobody@localhost>.*status=sent" "$SD_T/$inst/maillog")
            record "postscreen delivered-$inst" "$([ "$n" = 2 ] && echo 1 || echo 0)"
            [ "$n" = 2 ] || [ -z "${VERBOSE:-}" ] || echo "postscreen: $inst delivered $n of 2"
        done
        # The reference postscreen hands a client to OUR smtpd.
        m=$PSC_OUT/cases/mix; mkdir -p "$m"
        python3 "$PSC_OUT/client.py" 127.0.0.12 "$(sd_port psc-ref)" mail >"$m/ref.dialog" 2>&1 &
        psc_pids=$!
        python3 "$PSC_OUT/client.py" 127.0.0.12 "$(sd_port psc-mix)" mail >"$m/mix.dialog" 2>&1
        wait $psc_pids
        sed -i 's/queued as [0-9A-F]*/queued as QID/' "$m/ref.dialog" "$m/mix.dialog"
        psc_mix_ok=1
        diff -u "$m/ref.dialog" "$m/mix.dialog" >"$m/dialog.diff" || psc_mix_ok=0
        grep -q "250 2.0.0 Ok: queued as" "$m/mix.dialog" || psc_mix_ok=0
        for i in $(seq 1 30); do grep -a -q "postfix/local\[.*status=sent" "$SD_T/psc-mix/maillog" && break; sleep 0.1; done
        grep -a -q "postfix/smtpd\[.*client=localhost\[127.0.0.12\]\|postfix/smtpd\[.*client=unknown\[127.0.0.12\]" "$SD_T/psc-mix/maillog" || psc_mix_ok=0
        grep -a -q "postfix/local\[.*status=sent" "$SD_T/psc-mix/maillog" || psc_mix_ok=0
        [ $psc_mix_ok = 1 ] || [ -z "${VERBOSE:-}" ] || cat "$m/dialog.diff"
        record "postscreen ref-postscreen-our-smtpd" $psc_mix_ok
        # Behind postscreen smtpd skips its own pre-greeting check.
        PSC_A=psc-ign-ref PSC_B=psc-mix psc_case our-smtpd-early-talker 127.0.0.14 early "CONNECT" "S: 250-mail.example.com"
        # An instance entirely of ours (master, postscreen, dnsblog, smtpd ...).
        if [ -n "$psc_all" ]; then
            PSC_A=psc-ref PSC_B=psc-all psc_case all-ours-pass-mail 127.0.0.13 mail "PASS" "250 2.0.0 Ok: queued as"
            for i in $(seq 1 30); do grep -a -q "postfix/local\[.*to=<nobody@localhost>.*status=sent" "$SD_T/psc-all/maillog" && break; sleep 0.1; done
            n=$(grep -a -c "postfix/local\[.*to=<nobody@localhost>.*status=sent" "$SD_T/psc-all/maillog")
            record "postscreen all-ours-delivered" "$([ "$n" = 1 ] && echo 1 || echo 0)"
        else
            echo "postscreen: all-ours cases skipped: no $OUR_LIBEXEC/master or $OUR_SBIN/postfix"
        fi
    fi
    psc_cleanup
    trap '[ -n "${PSC_KEEP:-}" ] || rm -rf "$COMPAT_TMP"' EXIT
fi
