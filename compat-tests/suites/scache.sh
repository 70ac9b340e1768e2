# scache.sh - scache(8) and the smtp(8) connection cache against the
# reference. Five instances run by the reference (master, pickup,
# cleanup, qmgr, trivial-rewrite): "ref" with the reference's smtp and
# scache, "ours" with both of ours, "smtpours" with our smtp and the
# reference's scache, "scacheours" with the reference's smtp and our
# scache (these two show that the two ends speak the same protocol,
# descriptor passing included), and "allours" with our qmgr as well (its
# on-demand caching flags). Each instance has an SMTP sink on
# loopback (a small server that logs every command per connection).
# Messages are held, then released together, so that the queue manager
# sees them at once; deliveries are one at a time per destination.
#   cd.example: smtp_connection_cache_destinations lists the server
#   cl.example: the same with smtp_connection_reuse_count_limit = 2
#   od.example: on-demand caching, driven by the queue manager's flags
#   au.example: listed, with SASL: the session logs in (AUTH PLAIN) and is
#     cached under the keys that name the login's next hop and host
# Compared: the delivery status lines per destination (conn_use=N, relay,
# dsn; recipients and times masked), the connections the sink saw (their
# command sequences: RSET probes, no QUIT before a session is cached),
# and scache's "statistics:" lines when it leaves after max_idle.
#
# Needs root and the postfix user; skipped otherwise.

SC_T=$COMPAT_TMP/scache
mkdir -p "$SC_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$SC_T"
SC_SIDES=${SC_SIDES:-"ref ours smtpours scacheours allours"}

# Ports 263NN: NN = 10 ref, 20 ours, 30 smtpours, 40 scacheours, 50 allours.
sc_port() {
    case $1 in ref) echo 26310;; ours) echo 26320;; smtpours) echo 26330;; scacheours) echo 26340;; allours) echo 26350;; esac
}

sc_instance() {
    local s=$1 d=$SC_T/$1 port
    port=$(sc_port "$s")
    inst_dirs "$d"
    case $s in
        ref) mixed_daemon_dir "$d/libexec" ;;
        ours) mixed_daemon_dir "$d/libexec" smtp scache ;;
        smtpours) mixed_daemon_dir "$d/libexec" smtp ;;
        scacheours) mixed_daemon_dir "$d/libexec" scache ;;
        allours) mixed_daemon_dir "$d/libexec" smtp scache qmgr ;;
    esac
    inst_main_cf "$d" "$d/libexec" \
        "myhostname = client.example.com" "mydomain = example.com" "myorigin = example.com" "mydestination =" \
        "transport_maps = inline:{cd.example=smtpcd:[127.0.0.1]:$port, au.example=smtpau:[127.0.0.1]:$port, cl.example=smtpcl:[127.0.0.1]:$port, od.example=smtp:[127.0.0.1]:$port}" \
        "default_transport = error:no default route" "header_checks = regexp:$d/conf/hold" \
        "default_destination_concurrency_limit = 1" "initial_destination_concurrency = 1" \
        "smtp_tls_security_level = none" "delay_logging_resolution_limit = 0" "notify_classes =" \
        "ipc_idle = 1s"
    echo '/^Subject: hold/ HOLD' >"$d/conf/hold"
    inst_master_cf "$d" pickup cleanup qmgr rewrite bounce defer trace error postlog
    cat >>"$d/conf/master.cf" <<'EOF'
scache    unix  -       -       n       -       1       scache -o max_idle=1s
smtp      unix  -       -       n       -       -       smtp
smtpcd    unix  -       -       n       -       -       smtp -o smtp_connection_cache_destinations=127.0.0.1
  -o smtp_connection_cache_on_demand=no
smtpcl    unix  -       -       n       -       -       smtp -o smtp_connection_cache_destinations=127.0.0.1
  -o smtp_connection_cache_on_demand=no -o smtp_connection_reuse_count_limit=2
EOF
    printf '[127.0.0.1]:%s user:secret\n' "$port" >"$d/conf/sasl_passwd"
    cat >>"$d/conf/master.cf" <<EOF
smtpau    unix  -       -       n       -       -       smtp -o smtp_connection_cache_destinations=127.0.0.1
  -o smtp_connection_cache_on_demand=no -o smtp_sasl_auth_enable=yes
  -o smtp_sasl_password_maps=texthash:$d/conf/sasl_passwd -o smtp_sasl_security_options=noanonymous
EOF
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

# The sink: ESMTP with PIPELINING and AUTH (any PLAIN or LOGIN login
# passes); one log line per command, prefixed with the connection
# number; "close" when the client goes.
cat >"$SC_T/sink.py" <<'PYEOF'
import socketserver, sys, threading
log = sys.argv[2]
lock = threading.Lock()
count = [0]
def note(n, text):
    with lock:
        with open(log, "a") as f:
            f.write("%d %s\n" % (n, text))
class H(socketserver.StreamRequestHandler):
    def handle(self):
        with lock:
            count[0] += 1
            n = count[0]
        w = lambda s: (self.wfile.write(s.encode() + b"\r\n"), self.wfile.flush())
        w("220 sink.example ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                note(n, "close")
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd.split(" ")[0].upper()
            note(n, cmd if verb in ("MAIL", "RCPT") else verb)
            if verb == "EHLO":
                w("250-sink.example"); w("250-AUTH PLAIN LOGIN"); w("250 PIPELINING")
            elif verb == "AUTH":
                words = cmd.split(" ")
                mech = words[1].upper() if len(words) > 1 else ""
                prompts = ["VXNlcm5hbWU6", "UGFzc3dvcmQ6"] if mech == "LOGIN" else ([""] if len(words) < 3 else [])
                if mech == "LOGIN" and len(words) > 2:
                    prompts = prompts[1:]
                for prompt in prompts:
                    w("334 " + prompt)
                    self.rfile.readline()
                w("235 2.7.0 authenticated")
            elif verb == "DATA":
                w("354 go")
                while self.rfile.readline().rstrip(b"\r\n") != b".":
                    pass
                w("250 2.0.0 queued")
            elif verb == "QUIT":
                w("221 2.0.0 bye")
                note(n, "close")
                return
            else:
                w("250 2.0.0 ok")
socketserver.TCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF

# sc_status SIDE - the delivery status lines, by destination in log order,
# recipients' local parts and variable fields masked.
sc_status() {
    local dom
    for dom in cd.example cl.example od.example au.example; do
        grep -E 'postfix/smtp[a-z]*\[.*status=' "$SC_T/$1/maillog" | grep "@$dom>" |
            sed -E -e 's/^.*\]: [0-9A-F]+: //' -e 's/to=<[^@]*@/to=<X@/' -e 's/:263[0-9]{2}/:PORT/' \
                -e 's/delay=[0-9.]+, delays=[0-9.\/]+/delay=D, delays=D/'
    done
}

# sc_sink SIDE - one line per connection: its commands, recipients'
# local parts masked; sorted.
sc_sink() {
    awk '{ n = $1; $1 = ""; sub(/^ /, ""); gsub(/TO:<[^@]*@/, "TO:<X@"); c[n] = c[n] " " $0 } END { for (n in c) print c[n] }' \
        "$SC_T/$1/sink.log" | LC_ALL=C sort
}

# sc_stats SIDE - scache's statistics lines, the interval start masked.
sc_stats() {
    grep -E 'postfix/scache\[' "$SC_T/$1/maillog" | sed -E -e 's/^.*\]: //' -e 's/start interval .*/start interval TIME/'
}

# sc_wait_stats SIDE COUNT - wait until scache logged COUNT start lines.
sc_wait_stats() {
    local i
    for i in $(seq 1 80); do
        [ "$(grep -c 'postfix/scache.*start interval' "$SC_T/$1/maillog" 2>/dev/null)" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# sc_settle SIDE - wait until the active and incoming queues are empty.
sc_settle() {
    local i
    for i in $(seq 1 100); do
        [ -z "$(find "$SC_T/$1/q/maildrop" "$SC_T/$1/q/incoming" "$SC_T/$1/q/active" "$SC_T/$1/q/deferred" -type f 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# sc_round DOMAIN N ROUND - N held messages to DOMAIN on every instance,
# released together; then wait for scache to log its statistics (it
# leaves one second after the last client, which leaves one second
# after its last request).
sc_round() {
    local dom=$1 n=$2 round=$3 s i
    for s in $SC_SIDES; do
        for i in $(seq 1 "$n"); do
            printf 'Subject: hold %s\n\nbody\n' "$i" | "$REF_SBIN/sendmail" -C "$SC_T/$s/conf" -f sender@example.com "r$i@$dom"
        done
    done
    for s in $SC_SIDES; do
        for i in $(seq 1 50); do
            [ "$(find "$SC_T/$s/q/hold" -type f | wc -l)" -ge "$n" ] && break
            sleep 0.1
        done
    done
    for s in $SC_SIDES; do
        "$REF_SBIN/postsuper" -c "$SC_T/$s/conf" -H ALL 2>/dev/null
        "$REF_SBIN/postqueue" -c "$SC_T/$s/conf" -f
    done
    for s in $SC_SIDES; do sc_settle "$s"; done
    # Cached sessions expire (connection_cache_ttl_limit 2s).
    sleep 2.5
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || [ ! -x "$OUR_LIBEXEC/smtp" ] || [ ! -x "$OUR_LIBEXEC/scache" ] || [ ! -x "$OUR_LIBEXEC/qmgr" ]; then
    echo "scache: skipped: needs root, the postfix user and our smtp and scache ($OUR_LIBEXEC)"
else
    sc_pids=
    sc_stop() {
        local s
        for s in $SC_SIDES; do inst_stop "$SC_T/$s/conf"; done
        [ -n "$sc_pids" ] && kill $sc_pids 2>/dev/null
        return 0
    }
    trap 'sc_stop; rm -rf "$COMPAT_TMP"' EXIT
    for sc_s in $SC_SIDES; do
        sc_instance "$sc_s"
        python3 "$SC_T/sink.py" "$(sc_port "$sc_s")" "$SC_T/$sc_s/sink.log" &
        sc_pids="$sc_pids $!"
    done
    for sc_s in $SC_SIDES; do inst_wait_port "$(sc_port "$sc_s")"; inst_start "$SC_T/$sc_s/conf" >/dev/null 2>&1; done
    sc_round cd.example 4 1
    sc_round cl.example 5 2
    sc_round od.example 4 3
    sc_round au.example 4 4
    for sc_s in $SC_SIDES; do inst_stop "$SC_T/$sc_s/conf"; done
    sleep 0.2
    mkdir -p "$SC_T/out"
    for sc_s in $SC_SIDES; do
        sc_status "$sc_s" >"$SC_T/out/status.$sc_s"
        sc_sink "$sc_s" >"$SC_T/out/sink.$sc_s"
        sc_stats "$sc_s" >"$SC_T/out/stats.$sc_s"
    done
    # The reference itself must have reused sessions, or the test proves nothing.
    if grep -q 'conn_use=3' "$SC_T/out/status.ref" && grep -q ' RSET ' "$SC_T/out/sink.ref"; then
        record scache-ref-reuses 1
    else
        echo "FAIL scache-ref-reuses (the reference did not reuse connections)"
        sed 's/^/    /' "$SC_T/out/status.ref" "$SC_T/out/sink.ref"
        record scache-ref-reuses 0
    fi
    # ... and an authenticated one (AUTH, later RSET on the same connection).
    if grep -q ' AUTH .* RSET ' "$SC_T/out/sink.ref"; then
        record scache-ref-reuses-auth 1
    else
        echo "FAIL scache-ref-reuses-auth (the reference did not reuse an authenticated connection)"
        record scache-ref-reuses-auth 0
    fi
    for sc_s in ${SC_SIDES#ref }; do
        compare_files "scache-status-$sc_s" "$SC_T/out/status.ref" "$SC_T/out/status.$sc_s"
        compare_files "scache-sink-$sc_s" "$SC_T/out/sink.ref" "$SC_T/out/sink.$sc_s"
    done
    [ -n "${SC_KEEP:-}" ] && rm -rf "$SC_KEEP" && cp -a "$SC_T" "$SC_KEEP"
    for sc_s in $SC_SIDES; do
        if grep -E 'postfix/(smtp|scache)[a-z]*\[.*(warning|fatal|panic)' "$SC_T/$sc_s/maillog"; then
            echo "FAIL scache-warnings-$sc_s"
            record "scache-warnings-$sc_s" 0
        else
            record "scache-warnings-$sc_s" 1
        fi
    done
fi
