# smtp.sh - our smtp(8)/lmtp(8) against the reference's: two private
# instances run by the reference (master, pickup, cleanup, qmgr,
# trivial-rewrite, bounce), one with our smtp and lmtp in its
# daemon_directory. Each gets its own smtp-sink servers on loopback
# ports: one that accepts, one per kind of refusal (RCPT 5xx/4xx, MAIL
# 5xx, DATA 4xx, end-of-data 5xx, 5xx greeting, hang-up after RCPT), one
# without ESMTP/PIPELINING, LMTP sinks over TCP and a UNIX socket, and a
# port where nothing listens. MX lookups go to dnsmasq on 127.83.0.1:53:
# both instances run in a mount namespace where /etc/resolv.conf names
# it (the reference's resolver has no other way to be pointed at a test
# server; ours would take POSTFIX_RESOLV_CONF). The same messages go to
# both instances; compared are the smtp/lmtp log lines (times, pids,
# queue IDs, delays and ports masked) and what each sink received.
#
# Needs root, the postfix and nobody users, smtp-sink, unshare and
# dnsmasq (tools/install-deps.sh installs dnsmasq-base); skipped otherwise.

SM_T=$COMPAT_TMP/smtp
mkdir -p "$SM_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$SM_T"

# Ports: 261NN for the reference, 262NN for ours (below the Linux
# ephemeral range, so no outgoing connection can hold one); NN names the
# sink.
sm_port() { if [ "$1" = ref ]; then echo "261$2"; else echo "262$2"; fi; }
SM_SINKS="10 11 12 13 14 15 16 17 18 19 20 21 22 23"
sm_sink_opts() {
    case $1 in
        10) echo "" ;;           # accepts everything
        11) echo "-f RCPT" ;;    # RCPT 5xx
        12) echo "-r RCPT" ;;    # RCPT 4xx
        13) echo "-f MAIL" ;;    # MAIL 5xx
        14) echo "-r DATA" ;;    # DATA 4xx
        15) echo "-f ." ;;       # end of data 5xx
        16) echo "-f CONNECT" ;; # 5xx greeting
        17) echo "-q RCPT" ;;    # hangs up after RCPT
        18) echo "-e -p" ;;      # no ESMTP, no PIPELINING
        19) echo "-L" ;;         # LMTP
        20) echo "" ;;           # SASL (any AUTH accepted)
        21) echo "-f AUTH" ;;    # SASL refused
        22) echo "-8" ;;         # no 8BITMIME: 8-bit mail is downgraded
        23) echo "" ;;           # header and body checks
    esac
}

sm_instance() {
    local s=$1 d=$SM_T/$1
    rm -rf "$d"; mkdir -p "$d/conf" "$d/q" "$d/data" "$d/sink"
    chown postfix "$d/data"
    chown nobody "$d/sink"
    if [ "$s" = ref ]; then
        mixed_daemon_dir "$d/libexec"
    else
        mixed_daemon_dir "$d/libexec" smtp lmtp
    fi
    cat >"$d/conf/main.cf" <<EOF
queue_directory = $d/q
data_directory = $d/data
daemon_directory = $d/libexec
maillog_file = $d/maillog
maillog_file_prefixes = $d
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = client.example.com
mydomain = example.com
myorigin = example.com
mydestination =
transport_maps = hash:$d/conf/transport
default_transport = error:no default route in this test
smtp_connection_cache_on_demand = no
smtp_tls_security_level = none
smtp_randomize_addresses = no
delay_logging_resolution_limit = 0
notify_classes =
bounce_queue_lifetime = 1d
smtp_tls_policy_maps = texthash:$d/conf/tls_policy
smtpdor_destination_recipient_limit = 1
smtpdo_destination_recipient_limit = 1
EOF
    {
        for sm_n in $SM_SINKS; do echo "s$sm_n.example smtp:[127.0.0.1]:$(sm_port "$s" "$sm_n")"; done
        echo "refused.example smtp:[127.0.0.1]:$(sm_port "$s" 09)"
        echo "lmtp.example lmtp:inet:127.0.0.1:$(sm_port "$s" 19)"
        echo "lmtpunix.example lmtp:unix:$d/lmtp.sock"
        echo "mx.example smtp:mx.test:$(sm_port "$s" 10)"
        echo "mxfail.example smtp:mxfail.test:$(sm_port "$s" 10)"
        echo "nomx.example smtp:host-only.test:$(sm_port "$s" 10)"
        echo "nxdomain.example smtp:nosuch.test:$(sm_port "$s" 10)"
        echo "nxhost.example smtp:[nosuch.test]:$(sm_port "$s" 10)"
        echo "named.example smtp:[mx1.mx.test]:$(sm_port "$s" 10)"
        echo "helo.example smtphelo:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "chk.example smtpchk:[127.0.0.1]:$(sm_port "$s" 23)"
        echo "noconv.example smtpnoconv:[127.0.0.1]:$(sm_port "$s" 22)"
        echo "bind.example smtpbind:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "badbind.example smtpbadbind:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "loop.example smtp:loop.test"
        echo "loop2.example smtp:loop2.test"
        echo "loophost.example smtp:[127.0.0.1]"
        echo "xf.example smtpxf:[127.0.0.1]:$(sm_port "$s" 24)"
        echo "xfoff.example smtp:[127.0.0.1]:$(sm_port "$s" 24)"
        echo "tlsenc.example smtp:[127.0.0.1]:$(sm_port "$s" 25)"
        echo "tlslog.example smtptlslog:[127.0.0.1]:$(sm_port "$s" 25)"
        echo "tlsnone.example smtp:[host-only.test]:$(sm_port "$s" 25)"
        echo "tlsbad.example smtp:[mx1.mx.test]:$(sm_port "$s" 25)"
        echo "tlsreq.example smtp:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "discard.example discard:"
        echo "gen.example smtpgen:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "dor.example smtpdor:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "dmulti.example smtpd2:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "bestmx.example smtpbest:loop.test"
        echo "dis.example smtpdis:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "dismap.example smtpdismap:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "rf.example smtprf:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "qno.example smtpqno:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "vd.example smtpvd:[127.0.0.1]:$(sm_port "$s" 10)"
        echo "pix.example smtp:[127.0.0.1]:$(sm_port "$s" 26)"
        echo "dummy.example smtpdummy:[127.0.0.1]:$(sm_port "$s" 20)"
        echo "sda.example smtpsda:[host-only.test]:$(sm_port "$s" 21)"
        echo "nosda.example smtp:[host-only.test]:$(sm_port "$s" 21)"
        echo "dnsf.example smtpdnsf:mx.test:$(sm_port "$s" 10)"
        echo "dnsall.example smtpdnsf:host-only.test:$(sm_port "$s" 10)"
    } >"$d/conf/transport"
    {
        echo "[127.0.0.1]:$(sm_port "$s" 25) encrypt"
        echo "[host-only.test]:$(sm_port "$s" 25) none protocols=TLSv1.2"
        echo "[mx1.mx.test]:$(sm_port "$s" 25) bogus"
        echo "[127.0.0.1]:$(sm_port "$s" 10) may"
    } >"$d/conf/tls_policy"
    printf '%s\n' '/^Subject: replace me/ REPLACE Subject: replaced' '/^X-Drop:/ IGNORE' '/^X-Strip:/ STRIP stripped it' \
        '/^X-Warn:/ WARN warned' '/^X-Info:/ INFO' '/^X-Prepend:/ PREPEND X-New: x' '/^X-Bad:/ REPLACE not a header' \
        '/^X-Empty:/ REPLACE' '/^X-Dunno:/ DUNNO' '/^X-Odd:/ FROB it' >"$d/conf/hc"
    printf '%s\n' '/^Content-Description: secret/ REPLACE Content-Description: public' '/^Content-Type: image/ WARN image' \
        >"$d/conf/mhc"
    printf '%s\n' '/^Subject: inner/ REPLACE Subject: inner replaced' >"$d/conf/nhc"
    # smtp_generic_maps: the sender, recipients, header addresses; a
    # result without a domain, an @domain result, extensions.
    printf '%s\n' 'bouncer@discard.example sender@public.example' 'g1@gen.example rewritten@gen.example' \
        'g2@gen.example localpart' '@client.example @public.example' 'someone@example.com "quoted name"@public.example' \
        'g3@gen.example g3-new@gen.example' 'd1@dor.example generic-d1@dor.example' >"$d/conf/generic"
    printf '%s\n' '127.0.0.1 pipelining, dsn, silent-discard' >"$d/conf/ehlodis"
    printf '%s\n' '/^250 2\.1\.5 Ok/ 450 4.1.1 filtered away' >"$d/conf/rf"
    printf '%s\n' '/ IN MX 10 mx1\.mx\.test\.$/ IGNORE' '/^host-only\.test\. [0-9]+ IN A / IGNORE' >"$d/conf/dnsf"
    printf '%s\n' '/^drop this line/ IGNORE' '/^replace this/ REPLACE replaced body' '/^warn body/ WARN body warned' '/^prepend here/ PREPEND before it' \
        '/caf/ INFO eight' >"$d/conf/bc"
    cat >"$d/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
smtp      unix  -       -       n       -       -       smtp
lmtp      unix  -       -       n       -       -       lmtp
smtphelo  unix  -       -       n       -       -       smtp -o smtp_never_send_ehlo=yes
discard   unix  -       -       n       -       -       discard
error     unix  -       -       n       -       -       error
postlog   unix-dgram n  -       n       -       1       postlogd
smtpnoconv unix -       -       n       -       -       smtp -o disable_mime_output_conversion=yes
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
smtptlslog unix -       -       n       -       -       smtp -o smtp_tls_loglevel=1
smtpxf    unix  -       -       n       -       -       smtp -o smtp_send_xforward_command=yes
smtpbind  unix  -       -       n       -       -       smtp -o smtp_bind_address=127.0.0.2
smtpbadbind unix -      -       n       -       -       smtp -o smtp_bind_address=[192.0.2.1] -o smtp_bind_address_enforce=yes
smtpdor   unix  -       -       n       -       -       smtp flags=DORX
smtpd2    unix  -       -       n       -       -       smtp flags=D
smtpbest  unix  -       -       n       -       -       smtp -o best_mx_transport=discard
smtpdis   unix  -       -       n       -       -       smtp -o smtp_discard_ehlo_keywords=pipelining,dsn,bogus,8bitmime,smtputf8
smtpqno   unix  -       -       n       -       -       smtp -o smtp_quote_rfc821_envelope=no
smtpvd    unix  -       -       n       -       -       smtp -o smtp_address_verify_target=data
smtpdummy unix  -       -       n       -       -       smtp -o smtp_send_dummy_mail_auth=yes
smtpsda   unix  -       -       n       -       -       smtp -o smtp_sender_dependent_authentication=yes
EOF
    cat >>"$d/conf/master.cf" <<EOF
smtpgen   unix  -       -       n       -       -       smtp -o smtp_generic_maps=texthash:$d/conf/generic
smtpdismap unix -       -       n       -       -       smtp -o smtp_discard_ehlo_keyword_address_maps=texthash:$d/conf/ehlodis
smtprf    unix  -       -       n       -       -       smtp -o smtp_reply_filter=regexp:$d/conf/rf
smtpdnsf  unix  -       -       n       -       -       smtp -o smtp_dns_reply_filter=regexp:$d/conf/dnsf
smtpchk   unix  -       -       n       -       -       smtp -o smtp_header_checks=regexp:$d/conf/hc
  -o smtp_mime_header_checks=regexp:$d/conf/mhc -o smtp_nested_header_checks=regexp:$d/conf/nhc
  -o smtp_body_checks=regexp:$d/conf/bc
EOF
    "$REF_SBIN/postmap" -c "$d/conf" "$d/conf/transport"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

sm_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]: /[PID]: /g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/\b26[12]([0-9]{2})\b/PORT\1/g' \
        -e "s/with E?SMTP id [0-9a-f]+;/with SMTP id SINK;/; s/with LMTP id [0-9a-f]+;/with LMTP id SINK;/" \
        -e "s/delay=[0-9.]+, delays=[0-9.\/]+/delay=D, delays=D/" \
        -e 's/(; |^\t|Date: )[A-Z][a-z]{2}, [ 0-9]?[0-9] [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}( \([A-Z]+\))?/\1DATE/' \
        -e 's/ bits\) key-exchange .*/ bits)/' \
        -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' -e "s#$SM_T/(ref|ours)#INST#g" "$@"
}

# sm_settle SIDE - wait until only deferred mail is left in the queue.
sm_settle() {
    local i
    for i in $(seq 1 150); do
        [ -z "$(find "$SM_T/$1/q/maildrop" "$SM_T/$1/q/incoming" "$SM_T/$1/q/active" -type f 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    return 1
}

# sm_both NAME CMD - CMD with $S = ref, then ours; the outputs compared.
sm_both() {
    local name=$1; shift
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local out=$SM_T/cases/$name
    mkdir -p "$out"
    S=ref; eval "$*" >"$out/ref" 2>&1; echo "status $?" >>"$out/ref"
    S=ours; eval "$*" >"$out/ours" 2>&1; echo "status $?" >>"$out/ours"
    compare_files "smtp-$name" "$out/ref" "$out/ours"
}

# sm_log SIDE - the smtp/lmtp lines of the maillog, normalized.
sm_log() {
    grep -E 'postfix/(smtp|lmtp)\[' "$SM_T/$1/maillog" | sm_norm | sed -E 's/^TIME [^ ]+ //'
}

# sm_sink_files SIDE - what the sinks stored, in an order that does not
# depend on the sink's file names: one line per message, sorted, then
# unfolded.
sm_sink_files() {
    local f
    for f in $(cd "$SM_T/$1/sink" && find . -type f); do
        { echo "== $(dirname "$f")"; sm_norm "$SM_T/$1/sink/$f"; } | tr '\n' '\001'; echo
    done | LC_ALL=C sort | tr '\001' '\n'
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 || [ ! -x /usr/sbin/smtp-sink ] \
    || ! command -v unshare >/dev/null || [ ! -x /usr/sbin/dnsmasq ] || [ ! -x "$OUR_LIBEXEC/smtp" ]; then
    echo "smtp: skipped: needs root, the postfix and nobody users, smtp-sink, unshare, dnsmasq and our daemons ($OUR_LIBEXEC)"
else
    sm_pids=
    sm_stop() {
        local s
        for s in ref ours; do "$REF_SBIN/postfix" -c "$SM_T/$s/conf" stop >/dev/null 2>&1; done
        [ -n "$sm_pids" ] && kill $sm_pids 2>/dev/null
        [ -f "$SM_T/dnsmasq.pid" ] && kill "$(cat "$SM_T/dnsmasq.pid")" 2>/dev/null
        return 0
    }
    trap 'sm_stop; rm -rf "$COMPAT_TMP"' EXIT
    echo "nameserver 127.83.0.1" >"$SM_T/resolv.conf"
    echo "options timeout:1 attempts:1" >>"$SM_T/resolv.conf"
    chmod 644 "$SM_T/resolv.conf"
    /usr/sbin/dnsmasq --no-resolv --no-hosts --conf-file=/dev/null --bind-interfaces --listen-address=127.83.0.1 --port=53 \
        --pid-file="$SM_T/dnsmasq.pid" --local=/test/ \
        --mx-host=mx.test,mx1.mx.test,10 --mx-host=mx.test,mx2.mx.test,20 \
        --host-record=mx1.mx.test,127.0.0.1 --host-record=mx2.mx.test,127.0.0.1 \
        --mx-host=mxfail.test,dead.mx.test,10 --mx-host=mxfail.test,mx2.mx.test,20 \
        --host-record=dead.mx.test,127.0.0.9 --host-record=host-only.test,127.0.0.1 \
        --mx-host=loop.test,self.loop.test,10 --host-record=self.loop.test,127.0.0.1 \
        --mx-host=loop2.test,nowhere.loop.test,5 --mx-host=loop2.test,self.loop.test,10
    sleep 0.3
    for sm_s in ref ours; do
        sm_instance $sm_s
        for sm_n in $SM_SINKS; do
            mkdir -p "$SM_T/$sm_s/sink/$sm_n"; chown nobody "$SM_T/$sm_s/sink/$sm_n"
            # shellcheck disable=SC2046
            /usr/sbin/smtp-sink -u nobody -h sink$sm_n.example -d "$SM_T/$sm_s/sink/$sm_n/%M." $(sm_sink_opts $sm_n) \
                127.0.0.1:$(sm_port $sm_s $sm_n) 10 &
            sm_pids="$sm_pids $!"
        done
        mkdir -p "$SM_T/$sm_s/sink/unix"; chown nobody "$SM_T/$sm_s/sink/unix"
        /usr/sbin/smtp-sink -u nobody -L -h lmtpunix.example -d "$SM_T/$sm_s/sink/unix/%M." "unix:$SM_T/$sm_s/lmtp.sock" 10 &
        sm_pids="$sm_pids $!"
    done
    # A server that offers XFORWARD and logs the commands it gets.
    cat >"$SM_T/xfsink.py" <<'PYEOF2'
import socketserver, sys
log = sys.argv[2]
greeting = sys.argv[3] if len(sys.argv) > 3 else "220 xf.example ESMTP"
class H(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: self.wfile.write(s.encode() + b"\r\n")
        w(greeting)
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            with open(log, "a") as f:
                f.write(cmd + "\n")
            verb = cmd.split(" ")[0].upper()
            if verb == "EHLO":
                w("250-xf.example"); w("250-PIPELINING"); w("250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE DOMAIN")
            elif verb == "DATA":
                w("354 go")
                while self.rfile.readline().rstrip(b"\r\n") != b".":
                    pass
                w("250 2.0.0 queued")
            elif verb == "QUIT":
                w("221 bye"); return
            elif verb == "XFORWARD" and "IDENT" not in cmd:
                w("550 5.5.1 refused for the test")
            else:
                w("250 2.0.0 ok")
socketserver.TCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF2
    # A server that offers STARTTLS (a throw-away self-signed certificate).
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SM_T/tls.key" -out "$SM_T/tls.crt" -days 1 \
        -subj /CN=tls.example >/dev/null 2>&1
    cat >"$SM_T/tlssink.py" <<'PYEOF2'
import socketserver, ssl, sys
log, crt, key = sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
class H(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        r, wf = sock.makefile("rb"), sock.makefile("wb")
        def w(s):
            wf.write(s.encode() + b"\r\n"); wf.flush()
        w("220 tls.example ESMTP")
        tls = False
        while True:
            line = r.readline()
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            with open(log, "a") as f:
                f.write(("TLS " if tls else "") + cmd + "\n")
            verb = cmd.split(" ")[0].upper()
            if verb == "EHLO":
                w("250-tls.example")
                w("250 PIPELINING" if tls else "250 STARTTLS")
            elif verb == "STARTTLS":
                w("220 2.0.0 ready")
                sock = ctx.wrap_socket(sock, server_side=True)
                r, wf = sock.makefile("rb"), sock.makefile("wb")
                tls = True
            elif verb == "DATA":
                w("354 go")
                while r.readline().rstrip(b"\r\n") != b".":
                    pass
                w("250 2.0.0 queued")
            elif verb == "QUIT":
                w("221 bye"); return
            else:
                w("250 2.0.0 ok")
socketserver.TCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF2
    chmod 644 "$SM_T/tls.key"
    for sm_s in ref ours; do
        python3 "$SM_T/tlssink.py" "$(sm_port $sm_s 25)" "$SM_T/$sm_s/tls.log" "$SM_T/tls.crt" "$SM_T/tls.key" &
        sm_pids="$sm_pids $!"
    done
    for sm_s in ref ours; do
        python3 "$SM_T/xfsink.py" "$(sm_port $sm_s 24)" "$SM_T/$sm_s/xf.log" &
        sm_pids="$sm_pids $!"
        # A PIX firewall's greeting: smtp_pix_workarounds apply.
        python3 "$SM_T/xfsink.py" "$(sm_port $sm_s 26)" "$SM_T/$sm_s/pix.log" "220 ****************************" &
        sm_pids="$sm_pids $!"
    done
    sleep 0.5
    chmod 666 "$SM_T"/*/lmtp.sock 2>/dev/null
    for sm_s in ref ours; do
        unshare -m sh -c "mount --bind $SM_T/resolv.conf /etc/resolv.conf && $REF_SBIN/postfix -c $SM_T/$sm_s/conf start" >/dev/null 2>&1
    done
    # One message at a time, to both instances.
    sm_send() {
        local s
        for s in ref ours; do "$REF_SBIN/sendmail" -C "$SM_T/$s/conf" -f bouncer@discard.example "$@" <"$SM_T/msg"; done
        for s in ref ours; do sm_settle $s; done
    }
    printf 'Subject: plain\nFrom: a@example.com\n\nline one\n.leading dot\n..two dots\n.\nend\n' >"$SM_T/msg"
    sm_send a@s10.example b@s10.example
    printf 'Subject: eight bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n' >"$SM_T/msg"
    sm_send -B 8BITMIME c@s10.example
    { printf 'Subject: long line\n\n'; head -c 2500 /dev/zero | tr '\0' x; printf '\nshort\n'; } >"$SM_T/msg"
    sm_send long@s10.example
    printf 'Subject: dsn\n\nbody\n' >"$SM_T/msg"
    sm_send -N success,delay -V envid-1 d@s10.example
    # 8BITMIME downgrade: a server without 8BITMIME gets quoted-printable
    # leaf parts (8bit or binary declared), 7bit multipart and message
    # parts, no SIZE; undeclared 8-bit text and 7bit parts go as they are;
    # disable_mime_output_conversion turns it off.
    { printf 'Subject: eight bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
      printf 'Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9 = tax \n\ttab end\t\n'
      head -c 100 /dev/zero | tr '\0' e; printf '\xe9\n'; head -c 70 /dev/zero | tr '\0' f; printf '\xe9\xe9\n'
      printf '.dot \xff\n\n' ; } >"$SM_T/msg"
    sm_send -B 8BITMIME e1@s22.example e1@noconv.example
    { printf 'Subject: multi\nMIME-Version: 1.0\nContent-Type: multipart/mixed;\n\tboundary="b1"\n'
      printf 'Content-Transfer-Encoding: 8bit\n\npr\xe9amble\n--b1\nContent-Type: text/plain\n'
      printf 'Content-Transfer-Encoding: binary\n\nb\xe9n\n--b1\nContent-Type: text/plain\n\nundeclared \xe9\n'
      printf -- '--b1\nContent-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\nSubject: inner\n'
      printf 'Content-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n<p>\xe9</p>\n--b1\n'
      printf 'Content-Type: multipart/alternative; boundary=b2\n\n--b2\nContent-Transfer-Encoding: 8bit\n\n'
      printf 'deep \xe9\n--b2--\n--b1--\nepilogue \xe9\n' ; } >"$SM_T/msg"
    sm_send -B 8BITMIME e2@s22.example
    printf 'Subject: no body\nContent-Transfer-Encoding: 8bit\n' >"$SM_T/msg"
    sm_send -B 8BITMIME e3@s22.example
    printf 'Subject: seven\n\nplain\n' >"$SM_T/msg"
    sm_send -B 7BIT e4@s22.example
    # smtp_*header_checks and smtp_body_checks.
    { printf 'Subject: replace me\nX-Drop: a\nX-Strip: b\nX-Warn: c\nX-Info: d\nX-Prepend: e\nX-Bad: f\n'
      printf 'X-Empty: g\nX-Dunno: h\nX-Odd: i\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n'
      printf '\ndrop this line\n--zz\nContent-Description: secret\nSubject: replace me\n\nreplace this\n'
      printf 'warn body\nprepend here\n--zz\nContent-Type: message/rfc822\n\nSubject: inner\nX-Drop: nested\n\ncaf\xc3\xa9\n'
      printf -- '--zz\nContent-Type: image/png\n\nx\n--zz--\n' ; } >"$SM_T/msg"
    sm_send -B 8BITMIME c1@chk.example
    # XFORWARD (smtp_send_xforward_command): a local submission has no
    # client attributes, only the log identifier and rewrite context.
    printf 'Subject: xforward\n\nbody\n' >"$SM_T/msg"
    sm_send x1@xf.example
    sm_send x2@xfoff.example
    # smtp_tls_policy_maps: encrypt with a server that offers STARTTLS,
    # none, an invalid level, may with a server that does not offer it
    # (the global level is none).
    printf 'Subject: tls\n\nbody\n' >"$SM_T/msg"
    sm_send t1@tlsenc.example
    sm_send t2@tlsnone.example
    sm_send t5@tlslog.example
    sm_send t3@tlsbad.example
    sm_send t4@tlsreq.example
    # Source address (smtp_bind_address, enforced or not) and mail that
    # loops back to this host (an MX or a [host] that is one of our
    # inet_interfaces, port 25 only: nothing is connected to).
    printf 'Subject: bind\n\nbody\n' >"$SM_T/msg"
    sm_send b1@bind.example
    sm_send b2@badbind.example
    sm_send l1@loop.example
    sm_send l2@loop2.example
    sm_send l3@loophost.example
    # smtp_generic_maps: envelope and header addresses rewritten on output.
    { printf 'From: Some One <someone@example.com>\nTo: g1@gen.example, "Two" <g2@gen.example>,\n\tthird@client.example\n'
      printf 'Cc: a-very-long-local-part-number-one@client.example, another-long-local-part@client.example, g3+tag@gen.example\n'
      printf 'Reply-To: nobody@elsewhere.example\nX-Other: g1@gen.example\nSubject: generic\n\nbody g1@gen.example\n' ; } >"$SM_T/msg"
    sm_send g1@gen.example g2@gen.example g3+ext@gen.example other@gen.example
    # flags=DORX: Return-Path:, X-Original-To:, Delivered-To: (one
    # recipient per delivery); a Delivered-To: loop; D with several
    # recipients is a configuration error.
    printf 'Subject: dor\n\nbody\n' >"$SM_T/msg"
    sm_send d1@dor.example d2@dor.example
    printf 'Delivered-To: loop@dor.example\nSubject: dor loop\n\nbody\n' >"$SM_T/msg"
    sm_send loop@dor.example
    printf 'Subject: dor multi\n\nbody\n' >"$SM_T/msg"
    # With it, best_mx_transport: mail that loops back goes to discard(8).
    sm_send m1@dmulti.example m2@dmulti.example bm@bestmx.example
    # smtp_discard_ehlo_keywords, ..._address_maps, smtp_reply_filter,
    # smtp_quote_rfc821_envelope, a PIX firewall greeting.
    printf 'Subject: ehlo\n\nbody\n' >"$SM_T/msg"
    sm_send -N success ed@dis.example em@dismap.example rf@rf.example '"q u"@qno.example' pix@pix.example
    # smtp_dns_reply_filter: one MX host dropped; every address dropped.
    sm_send df@dnsf.example da@dnsall.example
    # Address probes (sendmail -bv): the probe stops after RCPT TO, or
    # at DATA with smtp_address_verify_target = data.
    for sm_s in ref ours; do "$REF_SBIN/sendmail" -C "$SM_T/$sm_s/conf" -f bouncer@discard.example -bv v1@s10.example vd@vd.example; done
    for sm_s in ref ours; do sm_settle $sm_s; done
    printf 'Subject: refusals\n\nbody\n' >"$SM_T/msg"
    sm_send r5@s11.example
    sm_send r4@s12.example
    sm_send m5@s13.example
    sm_send d4@s14.example
    sm_send dot5@s15.example
    sm_send greet@s16.example
    sm_send lost@s17.example
    sm_send old@s18.example
    sm_send refused@refused.example
    printf 'Subject: lmtp\n\nbody\n' >"$SM_T/msg"
    sm_send l1@lmtp.example l2@lmtp.example
    sm_send u1@lmtpunix.example
    printf 'Subject: mx\n\nbody\n' >"$SM_T/msg"
    sm_send mx@mx.example
    sm_send mxfail@mxfail.example
    sm_send nomx@nomx.example
    sm_send nx@nxdomain.example
    sm_send nxhost@nxhost.example
    sm_send named@named.example
    sm_both settled 'sm_settle $S && sleep 1 && sm_settle $S && echo ok'
    for sm_n in $SM_SINKS unix; do
        sm_both "sink-$sm_n" 'sm_sink_files $S | awk -v want="== ./$sm_n" "/^== \\.\\//{p = (\$0 == want)} p"'
    done
    sm_both tls 'sm_norm $SM_T/$S/tls.log'
    sm_both xforward 'sm_norm $SM_T/$S/xf.log'
    sm_both pix 'sm_norm $SM_T/$S/pix.log'
    sm_both bestmx 'grep -F "to=<bm@bestmx.example>" $SM_T/$S/maillog | sm_norm | sed -E "s/^TIME [^ ]+ //" | LC_ALL=C sort'
    sm_both probes 'grep -E "to=<(v1@s10|vd@vd).example>" $SM_T/$S/maillog | grep -v "postfix/verify" | sm_norm | sed -E "s/^TIME [^ ]+ //" | LC_ALL=C sort'
    sm_both queue '$REF_SBIN/postqueue -c $SM_T/$S/conf -p | sm_norm | sed -E "s/^QID +[0-9]+ .*/QID SIZE DATE/" | LC_ALL=C sort'
    sm_both stop '$REF_SBIN/postfix -c $SM_T/$S/conf stop; sleep 1'
    for sm_r in a@s10.example c@s10.example d@s10.example long@s10.example r5@s11.example r4@s12.example m5@s13.example \
        d4@s14.example dot5@s15.example greet@s16.example lost@s17.example old@s18.example refused@refused.example \
        l1@lmtp.example l2@lmtp.example u1@lmtpunix.example mx@mx.example mxfail@mxfail.example nomx@nomx.example \
        nx@nxdomain.example nxhost@nxhost.example named@named.example e1@s22.example e1@noconv.example \
        e2@s22.example e3@s22.example e4@s22.example c1@chk.example b1@bind.example b2@badbind.example \
        l1@loop.example l2@loop2.example l3@loophost.example x1@xf.example x2@xfoff.example \
        t1@tlsenc.example t2@tlsnone.example t3@tlsbad.example t4@tlsreq.example t5@tlslog.example \
        g1@gen.example g2@gen.example g3+ext@gen.example other@gen.example d1@dor.example d2@dor.example \
        loop@dor.example m1@dmulti.example m2@dmulti.example ed@dis.example em@dismap.example rf@rf.example \
        '"q u"@qno.example' pix@pix.example df@dnsf.example da@dnsall.example; do
        sm_both "log-$sm_r" 'sm_log $S | grep -F "to=<$sm_r>" | LC_ALL=C sort'
    done
    sm_both log 'sm_log $S | LC_ALL=C sort'
    # Other settings: soft_bounce, a 5xx greeting taken as final, HELO
    # only (a master.cf -o override), LMTP deliveries reported as final,
    # no line length limit, SASL.
    for sm_s in ref ours; do
        mv "$SM_T/$sm_s/maillog" "$SM_T/$sm_s/maillog.1"
        "$REF_SBIN/postconf" -c "$SM_T/$sm_s/conf" -e "soft_bounce = yes" "smtp_skip_5xx_greeting = no" \
            "lmtp_assume_final = yes" "smtp_line_length_limit = 0"
        printf '[127.0.0.1]:%s user:secret\n[127.0.0.1]:%s user:wrong\nbouncer@discard.example user:wrong\n' \
            "$(sm_port $sm_s 20)" "$(sm_port $sm_s 21)" \
            >"$SM_T/$sm_s/conf/sasl_passwd"
        "$REF_SBIN/postconf" -c "$SM_T/$sm_s/conf" -e "smtp_sasl_auth_enable = yes" \
            "smtp_sasl_password_maps = texthash:$SM_T/$sm_s/conf/sasl_passwd" "smtp_sasl_security_options = noanonymous"
        "$REF_SBIN/postsuper" -c "$SM_T/$sm_s/conf" -d ALL >/dev/null 2>&1
        find "$SM_T/$sm_s/conf" -type f -exec touch -d '1 minute ago' {} +
        unshare -m sh -c "mount --bind $SM_T/resolv.conf /etc/resolv.conf && $REF_SBIN/postfix -c $SM_T/$sm_s/conf start" >/dev/null 2>&1
    done
    printf 'Subject: second round\n\nbody\n' >"$SM_T/msg"
    sm_send r5@s11.example
    sm_send greet@s16.example
    sm_send helo@helo.example
    sm_send fin1@lmtp.example fin2@lmtp.example
    sm_send nx2@nxdomain.example
    sm_send auth@s20.example
    sm_send authfail@s21.example
    sm_send dummy@dummy.example
    # smtp_sender_dependent_authentication: the sender's entry is used
    # where neither the server nor the next hop has one.
    sm_send sda@sda.example nosda@nosda.example
    { printf 'Subject: long line\n\n'; head -c 2500 /dev/zero | tr '\0' y; printf '\n'; } >"$SM_T/msg"
    sm_send long2@s10.example
    sm_both settled2 'sm_settle $S && sleep 1 && sm_settle $S && echo ok'
    sm_both stop2 '$REF_SBIN/postfix -c $SM_T/$S/conf stop; sleep 1'
    for sm_r in r5@s11.example greet@s16.example helo@helo.example fin1@lmtp.example fin2@lmtp.example \
        nx2@nxdomain.example long2@s10.example auth@s20.example authfail@s21.example dummy@dummy.example \
        sda@sda.example nosda@nosda.example; do
        sm_both "log2-$sm_r" 'sm_log $S | grep -F "to=<$sm_r>" | LC_ALL=C sort'
    done
    sm_both log2 'sm_log $S | LC_ALL=C sort'
    sm_both sinks2 'sm_sink_files $S | grep -e "^X-Helo-Args\|^X-Client-Proto\|^X-Rcpt\|^X-Mail\|^yyyy" | LC_ALL=C sort'
    sm_stop
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
