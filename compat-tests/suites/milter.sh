# milter.sh - mail filters (milters) in cleanup(8): two reference
# instances, one with our cleanup in its daemon_directory, both with
# non_smtpd_milters set to a scripted test milter (milter-test.py, one
# copy per instance) followed by a real opendkim that signs. Each case
# submits the same message with sendmail to both instances while the
# test milter follows one script (replies to events, end-of-message
# edits: header add/insert/change/delete, body replacement, recipient
# add/delete with ESMTP arguments, sender change, quarantine, reject,
# tempfail, discard, reject at RCPT). Compared are the queue files
# (postcat -v, normalized), cleanup's log lines, and what the test
# milter saw (events, arguments, macros). The DKIM signature of each
# signed message must verify (opendkim -t with the key as test DNS data).
# Later cases: per-milter settings ({ inet:..., default_action=... }),
# an unreachable milter with each default action, milter_protocol 2,
# milter_macro_defaults, milter_header_checks on the headers a milter
# adds or changes, and a second real milter (spamass-milter with spamd:
# X-Spam headers, a reject, a skipped client). smtpd_milters go through
# the reference smtpd, through our smtpd (reference cleanup), and
# through our smtpd and our cleanup together (instance "both").

MI_T=$COMPAT_TMP/milter
MI_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || [ ! -x "$OUR_LIBEXEC/cleanup" ] \
    || ! command -v opendkim >/dev/null || ! command -v python3 >/dev/null; then
    echo "milter: skipped: needs root, the postfix user, our cleanup, opendkim and python3"
else
mkdir -p "$MI_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$MI_T"

mi_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

MI_DPORT=$(mi_port)
mkdir -p "$MI_T/dkim"
opendkim-genkey -b 1024 -d example.com -s test -D "$MI_T/dkim" >/dev/null 2>&1
python3 - "$MI_T/dkim" <<'EOF'
import re, sys
d = sys.argv[1]
txt = "".join(re.findall(r'"([^"]*)"', open(d + "/test.txt").read()))
open(d + "/dns", "w").write("test._domainkey.example.com " + txt + "\n")
EOF
cat >"$MI_T/dkim/sign.conf" <<EOF
Domain example.com
Selector test
KeyFile $MI_T/dkim/test.private
Socket inet:$MI_DPORT@127.0.0.1
Mode s
Syslog no
Background no
Canonicalization relaxed/simple
RequireSafeKeys false
SignatureTTL 0
OmitHeaders Received,DKIM-Signature
EOF
cat >"$MI_T/dkim/verify.conf" <<EOF
Mode v
Syslog no
Background no
TestDNSData $MI_T/dkim/dns
EOF
opendkim -x "$MI_T/dkim/sign.conf" -f >"$MI_T/opendkim.log" 2>&1 &
MI_DKIM_PID=$!

# A second real milter: spamass-milter in front of a spamd on loopback
# (local tests only). spamd takes a while to load its rules: it starts
# now and is waited for at the end.
MI_SPAMD_PID=
if command -v spamd >/dev/null && command -v spamass-milter >/dev/null && command -v spamc >/dev/null; then
    MI_SPDPORT=$(mi_port)
    spamd -L -x --listen="127.0.0.1:$MI_SPDPORT" -u debian-spamd --min-children=1 --max-children=2 \
        --cf='use_bayes 0' --cf='bayes_auto_learn 0' -s stderr >"$MI_T/spamd.log" 2>&1 &
    MI_SPAMD_PID=$!
fi

mi_instance() {
    local n=$1 d=$MI_T/$1; shift
    inst_dirs "$d"
    mixed_daemon_dir "$d/libexec" "$@"
    eval "MI_TPORT_$n=\$(mi_port)"
    local tport; eval "tport=\$MI_TPORT_$n"
    echo '{}' >"$d/script.json"
    : >"$d/milter.log"
    python3 "$MI_HERE/milter-test.py" "$tport" "$d/script.json" "$d/milter.log" >"$d/milter.err" 2>&1 &
    eval "MI_TPID_$n=$!"
    inst_main_cf "$d" "$d/libexec"
    {
        echo "myhostname = host.example.com"
        echo "mydomain = example.com"
        echo "mydestination ="
        echo "alias_maps ="
        echo "alias_database ="
        echo "non_smtpd_milters = inet:127.0.0.1:$tport, inet:127.0.0.1:$MI_DPORT"
        echo "milter_macro_daemon_name = mta.example.com"
        echo "milter_macro_v = Postfix"
    } >>"$d/conf/main.cf"
    inst_master_cf "$d" pickup cleanup rewrite bounce defer trace postlog proxymap
    eval "MI_SPORT_$n=\$(mi_port)"
    local sport; eval "sport=\$MI_SPORT_$n"
    echo "127.0.0.1:$sport inet n - n - - smtpd" >>"$d/conf/master.cf"
    echo "smtpd_milters = inet:127.0.0.1:$tport, inet:127.0.0.1:$MI_DPORT" >>"$d/conf/main.cf"
}

mi_stop() {
    local n p
    for n in $MI_ALL; do
        inst_stop "$MI_T/$n/conf"
        eval "p=\${MI_TPID_$n:-}"
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    [ -n "${MI_DKIM_PID:-}" ] && kill "$MI_DKIM_PID" 2>/dev/null
    for p in ${MI_SAM_PIDS:-} ${MI_SPAMD_PID:-}; do kill "$p" 2>/dev/null; done
    return 0
}
trap 'mi_stop; rm -rf "$COMPAT_TMP"' EXIT

# mi_start NAME DAEMON... - an instance with our DAEMONs swapped in.
MI_ALL=
mi_start() {
    local n=$1; shift
    mi_instance "$n" "$@"
    MI_ALL="$MI_ALL $n"
    find "$MI_T/$n/conf" -type f -exec touch -d '1 minute ago' {} +
    inst_start "$MI_T/$n/conf" >/dev/null 2>&1
}
mi_start ref
mi_start ours cleanup
MI_SIDES="ref ours"

mi_norm_postcat() {
    sed -E -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/^(message_arrival_time|create_time): .*/\1: T/' \
        -e 's/^message_size: +[0-9]+ +[0-9]+ +([0-9]+) +([0-9]+) +[0-9]+ +([0-9]+)$/message_size: SIZE OFFSET \1 \2 CONTENT \3/' \
        -e 's/^(regular_text: )?(Date:|Message-Id:) .*/\1\2 X/' -e 's/^(regular_text: )?\t(id|for) .*/\1\t\2 X/' \
        -e 's/^(regular_text: )?\t[A-Z][a-z][a-z], .*/\1\tDATE/' -e 's/^named_attribute: log_ident=.*/log_ident/' \
        -e 's/^(regular_text: )?\t [A-Za-z0-9+\/=]+$/SIGCONT/' -e 's/([ ;\t])b=[A-Za-z0-9+\/=]+$/\1b=SIG/' \
        -e 's/ t=[0-9]+;/ t=T;/' -e 's/^pointer_record: +[1-9][0-9]*$/pointer_record: OFFSET/' \
        -e 's/^(regular_text: )?(Arrival-Date|Last-Attempt-Date): .*/\1\2: DATE/' \
        -e "s#$MI_T/(oursd|both|ours|ref)\b#INST#g" | grep -v -e '^SIGCONT$'
}

mi_norm_log() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ //' -e 's/\[[0-9]+\]:/:/' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e "s#$MI_T/(oursd|both|ours|ref)\b#INST#g" \
        -e 's/(message-id=<)[^>]*/\1X/' -e 's/inet:127.0.0.1:[0-9]+/inet:127.0.0.1:PORT/g' \
        -e 's/delay=[0-9.]+, delays=[0-9./]+/delay=D, delays=D/' -e 's/ pid [0-9]+ / pid N /' -e 's/[A-Z][a-z]{2}, [ 0-9]+ [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}/DATE/g'
}

mi_norm_milter() {
    sed -E -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/(Received|Date|Message-Id) \| .*/\1 | X/' \
        -e 's/^(B ).*/\1BODY/;t' -e 's/\\t(by|id|for) [^\\]*//g'
}

# mi_wait S - until pickup has handed the message to cleanup, the log has
# settled and no queue file is incomplete (20 s at most).
mi_wait() {
    local d=$MI_T/$1 off i n m
    off=$(cat "$d/log.offset")
    for i in $(seq 1 200); do
        tail -c +$((off + 1)) "$d/maillog" >"$d/log.new" 2>/dev/null
        if grep -q -e "${MI_DONE:-pickup.*uid=}" -e 'fatal:' "$d/log.new" \
            && { ! grep -q 'status=bounced' "$d/log.new" || grep -q 'sender non-delivery notification' "$d/log.new"; }; then
            n=$(wc -c <"$d/maillog")
            sleep 0.4
            m=$(wc -c <"$d/maillog")
            # ... and no queue file still being written (or about to be
            # removed: a rejected message) in incoming/.
            [ "$n" = "$m" ] && [ -z "$(find "$d/q/incoming" -type f ! -perm -u=x 2>/dev/null)" ] && return 0
        else
            sleep 0.1
        fi
    done
    return 1
}

mi_postcat_all() {
    local f
    for f in $(cd "$MI_T/$1/q" && find incoming hold deferred active -type f 2>/dev/null | sort); do
        echo "== $(dirname "$f")"
        "$REF_SBIN/postcat" -c "$MI_T/$1/conf" -v "$MI_T/$1/q/$f" 2>&1 | mi_norm_postcat
    done
}

# mi_verify S - the DKIM verdict for each queued message.
mi_verify() {
    local f
    for f in $(cd "$MI_T/$1/q" && find incoming hold -type f 2>/dev/null | sort); do
        "$REF_SBIN/postcat" -c "$MI_T/$1/conf" -bh "$MI_T/$1/q/$f" >"$MI_T/$1/msg.txt" 2>/dev/null
        opendkim -x "$MI_T/dkim/verify.conf" -t "$MI_T/$1/msg.txt" 2>&1 | sed "s#$MI_T/$1/##"
    done
}

# mi_case NAME SCRIPT MESSAGE SENDMAIL-ARGS... - one message through both.
mi_case() {
    local name=$1 script=$2 msg=$3; shift 3
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local s d out=$MI_T/cases/$name pids=
    mkdir -p "$out"
    for s in $MI_SIDES; do
        d=$MI_T/$s
        rm -f "$d"/q/incoming/* "$d"/q/hold/* "$d"/q/active/* "$d"/q/deferred/*/* "$d"/q/maildrop/* 2>/dev/null
        printf '%s\n' "$script" >"$d/script.json"
        : >"$d/milter.log"
        wc -c <"$d/maillog" >"$d/log.offset" 2>/dev/null || echo 0 >"$d/log.offset"
        if [ -n "${MI_SMTP:-}" ]; then
            local sport; eval "sport=\$MI_SPORT_$s"
            printf '%b' "$msg" | python3 "$MI_T/smtp-client.py" "$sport" "$@" >"$d/smtp.out" 2>&1 &
            pids="$pids $!"
        else
            printf '%b' "$msg" | "$REF_SBIN/sendmail" -C "$d/conf" "$@"
        fi
    done
    [ -n "$pids" ] && wait $pids
    for s in $MI_SIDES; do
        d=$MI_T/$s
        mi_wait $s
        {
            echo "--- queue"; mi_postcat_all $s
            echo "--- log"; tail -c +$(($(cat "$d/log.offset") + 1)) "$d/maillog" | mi_norm_log | grep -v -e ' pickup: ' -e 'postfix/postlogd' -e ' daemon started' | LC_ALL=C sort
            echo "--- milter"; mi_norm_milter <"$d/milter.log"
            echo "--- dkim"; mi_verify $s
            [ -n "${MI_SMTP:-}" ] && { echo "--- smtp"; sed -E 's/\b[0-9A-F]{10,12}\b/QID/g' "$d/smtp.out"; }
        } 2>&1 | sed -E -e 's/((client|server)_port|\{(client|daemon)_port\})=[0-9]+/\1=PORT/g' \
            -e 's/^C ([^ ]+) 4 [0-9]+ /C \1 4 PORT /' >"$out/$s"
    done
    [ -n "${MI_KEEP:-}" ] && mkdir -p "$MI_KEEP" && cp -r "$out" "$MI_KEEP/"
    for s in $MI_SIDES; do
        case $s in
        ref) ;;
        ours) compare_files "milter-$name" "$out/ref" "$out/ours" ;;
        *) compare_files "milter-$name-$s" "$out/ref" "$out/$s" ;;
        esac
    done
}

MI_MSG='From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: hello\nX-Tag: one\nX-Tag: two\n\nline one\nline two\n'
MI_SM=(-f alice@example.com bob@example.net carol@example.net)

mi_case pass-sign '{}' "$MI_MSG" "${MI_SM[@]}"
mi_case header-add '{"eom": [["h", "X-Added", "yes"], ["h", "X-Long", "a fairly long header value that is well over fifteen characters"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case header-insert '{"eom": [["i", 0, "X-First", "top"], ["i", 1, "X-Second", "after ours"], ["i", 3, "X-Mid", "middle"], ["i", 99, "X-End", "end"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case header-change '{"eom": [["m", 1, "Subject", "changed subject"], ["m", 2, "X-Tag", "second changed"], ["m", 1, "X-Missing", "appended"], ["m", 0, "Received", "replaced received"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case header-delete '{"eom": [["m", 1, "X-Tag", ""], ["m", 1, "To", ""], ["m", 5, "X-Tag", ""]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case header-mixed '{"eom": [["i", 1, "X-A", "1"], ["i", 1, "X-B", "2"], ["m", 1, "X-A", "changed"], ["h", "X-C", "3"], ["m", 1, "X-B", ""]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case body-replace '{"eom": [["b", "new body line 1\r\nnew body line 2\r\n"], ["b", "second chunk without end"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case body-and-header '{"eom": [["b", "replaced\r\n"], ["h", "X-After-Body", "yes"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case rcpt-add '{"eom": [["+", "<dave@example.org>"], ["2", "<erin@example.org>", "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;erin+2Bx@example.org"], ["2", "frank@example.org", "BOGUS=1"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case rcpt-delete '{"eom": [["-", "<carol@example.net>"], ["-", "<nobody@example.net>"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case sender-change '{"eom": [["e", "<new-sender@example.com>", "RET=HDRS ENVID=abc+2Bdef"], ["p"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case sender-null '{"eom": [["e", "<>"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case quarantine '{"eom": [["q", "suspicious content"]], "final": "a"}' "$MI_MSG" "${MI_SM[@]}"
mi_case quarantine-event '{"events": {"M": "q:held at mail"}}' "$MI_MSG" "${MI_SM[@]}"
mi_case eom-reject '{"final": "r"}' "$MI_MSG" "${MI_SM[@]}"
mi_case eom-tempfail '{"final": "t"}' "$MI_MSG" "${MI_SM[@]}"
mi_case eom-replycode '{"final": "y:554 5.7.0 Go away %% now"}' "$MI_MSG" "${MI_SM[@]}"
mi_case eom-discard '{"eom": [["h", "X-Ignored", "yes"]], "final": "d"}' "$MI_MSG" "${MI_SM[@]}"
mi_case rcpt-reject '{"events": {"R": "r"}}' "$MI_MSG" "${MI_SM[@]}"
mi_case mail-tempfail '{"events": {"M": "t"}}' "$MI_MSG" "${MI_SM[@]}"
mi_case connect-reject '{"events": {"C": "r"}}' "$MI_MSG" "${MI_SM[@]}"
mi_case helo-accept '{"events": {"H": "a"}}' "$MI_MSG" "${MI_SM[@]}"
mi_case header-skip '{"events": {"L": "s"}}' "$MI_MSG" "${MI_SM[@]}"
mi_case no-reply-flags '{"flags": 1044608}' "$MI_MSG" "${MI_SM[@]}"
mi_case no-events-flags '{"flags": 127}' "$MI_MSG" "${MI_SM[@]}"
mi_case null-sender '{"eom": [["h", "X-Null", "sender"]]}' "$MI_MSG" -f '' bob@example.net

# Through the reference smtpd: smtpd_milters, handed over to cleanup.
cat >"$MI_T/smtp-client.py" <<'EOF'
import socket, sys
port, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode("latin-1").rstrip("\r\n")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            break
    print(lines[-1] if lines[0][:3] != "250" else lines[0][:3])
    return lines[-1][:1]
def cmd(c):
    s.sendall(c.encode() + b"\r\n")
    return reply()
reply()
cmd("EHLO client.example")
if cmd("MAIL FROM:<%s>" % sender) == "2":
    ok = [r for r in rcpts if cmd("RCPT TO:<%s>" % r) == "2"]
    if ok and cmd("DATA") == "3":
        body = sys.stdin.read().replace("\n", "\r\n")
        s.sendall(body.encode("latin-1") + b".\r\n")
        reply()
cmd("QUIT")
EOF
MI_SMTP=1 MI_DONE='disconnect from'
MI_SA=(alice@example.com bob@example.net carol@example.net)
mi_case smtp-pass-sign '{}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-edits '{"eom": [["h", "X-Added", "yes"], ["i", 1, "X-Ins", "top"], ["m", 1, "Subject", "new"], ["+", "<dave@example.org>"], ["-", "<carol@example.net>"], ["e", "<s@example.com>"]]}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-body '{"eom": [["b", "replaced\r\nbody\r\n"]]}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-eom-reject '{"final": "y:550 5.7.1 Rejected by test"}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-eom-tempfail '{"final": "t"}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-eom-discard '{"final": "d"}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-quarantine '{"eom": [["q", "look at this"]]}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-rcpt-reject '{"events": {"R": "y:550 5.1.1 No such user"}}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-data-discard '{"events": {"T": "d"}}' "$MI_MSG" "${MI_SA[@]}"
mi_case smtp-header-reject '{"events": {"L": "r"}}' "$MI_MSG" "${MI_SA[@]}"
# Our smtpd (when there is one) with the reference cleanup and with ours.
if [ -x "$OUR_LIBEXEC/smtpd" ]; then
    # Our smtpd with the reference cleanup, and an instance where the
    # milters pass from our smtpd to our cleanup (with our queue-side
    # daemons around them).
    mi_start oursd smtpd
    mi_start both smtpd cleanup pickup trivial-rewrite bounce
    MI_SIDES="ref oursd both"
    mi_case smtp-pass-sign '{}' "$MI_MSG" "${MI_SA[@]}"
    mi_case smtp-edits '{"eom": [["h", "X-Added", "yes"], ["i", 1, "X-Ins", "top"], ["m", 1, "Subject", "new"], ["+", "<dave@example.org>"], ["-", "<carol@example.net>"], ["e", "<s@example.com>"]]}' "$MI_MSG" "${MI_SA[@]}"
    mi_case smtp-eom-reject '{"final": "y:550 5.7.1 Rejected by test"}' "$MI_MSG" "${MI_SA[@]}"
    mi_case smtp-rcpt-reject '{"events": {"R": "y:550 5.1.1 No such user"}}' "$MI_MSG" "${MI_SA[@]}"
    inst_stop "$MI_T/oursd/conf"
    inst_stop "$MI_T/both/conf"
    MI_SIDES="ref ours"
fi
unset MI_SMTP MI_DONE

# Settings that need a new cleanup: a restart between the cases.

mi_conf_case() {
    local name=$1 script=$2; shift 2
    local s x
    for s in $MI_SIDES; do
        for x in "$@"; do "$REF_SBIN/postconf" -c "$MI_T/$s/conf" -e "${x//TPORT/$(eval echo \$MI_TPORT_$s)}"; done
        # A restart, not a reload: an old and a new pickup would race.
        inst_stop "$MI_T/$s/conf"
        # Mail deferred by the previous case must not reach the new pickup.
        rm -f "$MI_T/$s"/q/maildrop/*
        inst_start "$MI_T/$s/conf" >/dev/null 2>&1
    done
    mi_case "$name" "$script" "$MI_MSG" "${MI_SM[@]}"
}
mi_conf_case unreachable-tempfail '{}' "non_smtpd_milters = inet:127.0.0.1:1"
mi_conf_case unreachable-accept '{}' "non_smtpd_milters = { inet:127.0.0.1:1, default_action=accept }, inet:127.0.0.1:TPORT"
mi_conf_case unreachable-reject '{}' "non_smtpd_milters = inet:127.0.0.1:1" "milter_default_action = reject"
mi_conf_case unreachable-quarantine '{}' "non_smtpd_milters = inet:127.0.0.1:1" "milter_default_action = quarantine"
mi_conf_case protocol-2 '{"eom": [["h", "X-V2", "yes"]]}' "non_smtpd_milters = { inet:127.0.0.1:TPORT, protocol=2 }" "milter_default_action = tempfail"
mi_conf_case macro-defaults '{}' "non_smtpd_milters = inet:127.0.0.1:TPORT" "milter_macro_defaults = auth_type=none, { {rcpt_host} = relay.example }" \
    "milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {client_name}" "milter_connect_macros = j {daemon_name} v _ {client_addr} {client_port} {daemon_addr}"
mi_conf_case bad-protocol '{}' "non_smtpd_milters = { inet:127.0.0.1:TPORT, protocol=7 }" "milter_default_action = tempfail"

# milter_header_checks: the headers a milter adds, inserts or changes.
cat >"$MI_T/mhc.regexp" <<'EOF'
/^X-Strip:/ STRIP stripped
/^X-Warn:/ WARN warned here
/^Subject: new/ REPLACE Subject: replaced by checks
/^X-Ign:/ IGNORE
/^X-Filter:/ FILTER smtp:[127.0.0.1]:10025
/^X-Bcc:/ BCC bcc@example.org
/^X-Prepend:/ PREPEND X-Pre: yes
/^X-Bogus:/ PASS
/^X-Hold:/ HOLD on hold
/^X-Redirect:/ REDIRECT other@example.org
/^X-Reject:/ REJECT 5.7.9 rejected by milter checks
/^X-Discard:/ DISCARD gone
EOF
mi_conf_case mhc-actions '{"eom": [["h", "X-Strip", "yes"], ["h", "X-Warn", "hello"], ["m", 1, "Subject", "new"], ["i", 1, "X-Ign", "x"], ["h", "X-Filter", "f"], ["h", "X-Bcc", "b"], ["h", "X-Prepend", "p"], ["h", "X-Bogus", "z"]]}' \
    "non_smtpd_milters = inet:127.0.0.1:TPORT" "milter_header_checks = regexp:$MI_T/mhc.regexp"
mi_case mhc-hold-redirect '{"eom": [["h", "X-Hold", "1"], ["h", "X-Redirect", "1"], ["h", "X-Hold", "after redirect"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case mhc-reject '{"eom": [["h", "X-Reject", "1"], ["h", "X-Never", "1"]]}' "$MI_MSG" "${MI_SM[@]}"
mi_case mhc-discard '{"eom": [["i", 1, "X-Discard", "1"], ["h", "X-Never", "1"]]}' "$MI_MSG" "${MI_SM[@]}"

# spamass-milter: one copy that rejects at score 15 (and otherwise adds
# its X-Spam headers), one that skips the local client (accept).
if [ -n "$MI_SPAMD_PID" ]; then
    for i in $(seq 1 120); do
        spamc -d 127.0.0.1 -p "$MI_SPDPORT" -K >/dev/null 2>&1 && break
        sleep 0.5
    done
    MI_SAPORT=$(mi_port) MI_SA2PORT=$(mi_port)
    spamass-milter -p "inet:$MI_SAPORT@127.0.0.1" -r 15 -- -d 127.0.0.1 -p "$MI_SPDPORT" >"$MI_T/sam.log" 2>&1 &
    MI_SAM_PIDS=$!
    spamass-milter -p "inet:$MI_SA2PORT@127.0.0.1" -i 127.0.0.1 -- -d 127.0.0.1 -p "$MI_SPDPORT" >"$MI_T/sam2.log" 2>&1 &
    MI_SAM_PIDS="$MI_SAM_PIDS $!"
    # spamd takes its time: a message is done when cleanup has queued it
    # (and tried to wake the absent qmgr).
    MI_DONE='unable to look up public/qmgr'
    MI_GTUBE='From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: offer\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n'
    mi_conf_case spamass-ham '{}' "non_smtpd_milters = inet:127.0.0.1:$MI_SAPORT" "milter_header_checks ="
    mi_case spamass-spam '{}' "$MI_GTUBE" "${MI_SM[@]}"
    mi_conf_case spamass-skip '{}' "non_smtpd_milters = inet:127.0.0.1:$MI_SA2PORT"
    mi_case spamass-skip-spam '{}' "$MI_GTUBE" "${MI_SM[@]}"
    unset MI_DONE
else
    echo "milter: spamass-milter cases skipped: needs spamd, spamc and spamass-milter"
fi

mi_stop
trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
