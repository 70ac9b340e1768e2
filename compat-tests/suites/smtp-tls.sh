# smtp-tls.sh - client TLS of our smtp(8) against the reference's. A
# throw-away CA signs a server certificate (mx.tls.test) and a client
# certificate; a third certificate is self-signed. The reference's smtpd
# in its own instance ("srv") is the peer: port 26410 with the CA-signed
# certificate (and the CA in its chain), 26411 self-signed, 26412
# without STARTTLS; it asks for client certificates and logs what it
# got; 26417 speaks nothing newer than TLSv1.2. A small python peer on
# 26415/26416 offers STARTTLS and then does not speak TLS (plaintext
# retry cases: their mail goes into the maildrop before the clients
# start, so that it has waited the 1s minimal_backoff_time of the
# "smtpold" service). Two client instances run the reference's daemons, one with our
# smtp swapped in (mixed_daemon_dir). Each case is a recipient domain
# routed to one of the ports with one smtp_tls_policy_maps entry (or a
# master.cf -o override); compared are the client's log lines of that
# delivery (queue IDs, pids, delays masked), the server's TLS lines for
# it, and at the end the queue. DANE cases use a small DNS server on
# 127.84.0.1 (python, sets the AD bit) that both instances reach
# through a private /etc/resolv.conf with "options trust-ad" (unshare -m).
#
# Needs root, the postfix user, openssl, python3 and unshare; skipped
# otherwise.

ST_T=$COMPAT_TMP/smtp-tls
mkdir -p "$ST_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$ST_T"

st_instance() {
    local s=$1 d=$ST_T/$1
    inst_dirs "$d"
    if [ "$s" = ours ]; then mixed_daemon_dir "$d/libexec" smtp; else mixed_daemon_dir "$d/libexec"; fi
    inst_main_cf "$d" "$d/libexec" \
        "myhostname = client.tls.test" "mydomain = tls.test" "myorigin = tls.test" "mydestination =" \
        "transport_maps = texthash:$d/conf/transport" "default_transport = error:no route" \
        "smtp_connection_cache_on_demand = no" "smtp_tls_security_level = none" "smtp_tls_loglevel = 1" \
        "smtp_tls_CAfile = $ST_T/ca.crt" "smtp_tls_policy_maps = texthash:$d/conf/policy" \
        "smtp_dns_support_level = dnssec" \
        "smtp_bind_address = $(if [ "$s" = ref ]; then echo 127.0.0.3; else echo 127.0.0.2; fi)" \
        "delay_logging_resolution_limit = 0" "notify_classes =" "bounce_queue_lifetime = 1d" "maximal_queue_lifetime = 1d"
    inst_master_cf "$d" pickup cleanup qmgr rewrite bounce defer trace error discard postlog
    cat >>"$d/conf/master.cf" <<EOF
smtp      unix  -       -       n       -       -       smtp
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
smtpcert  unix  -       -       n       -       -       smtp -o smtp_tls_cert_file=$ST_T/client.crt -o smtp_tls_key_file=$ST_T/client.key
smtpchain unix  -       -       n       -       -       smtp -o smtp_tls_chain_files=$ST_T/client.pem
smtpnoca  unix  -       -       n       -       -       smtp -o smtp_tls_CAfile=
smtpfp    unix  -       -       n       -       -       smtp -o smtp_tls_fingerprint_cert_match=$ST_SRV_FP
smtpvfy   unix  -       -       n       -       -       smtp -o smtp_tls_verify_cert_match=mx.tls.test
smtpsec   unix  -       -       n       -       -       smtp -o smtp_tls_secure_cert_match=.tls.test
smtpproto unix  -       -       n       -       -       smtp -o smtp_tls_mandatory_protocols=<=TLSv1.2
smtpta    unix  -       -       n       -       -       smtp -o smtp_tls_CAfile= -o smtp_tls_trust_anchor_file=$ST_T/ca.crt
smtpnodns unix  -       -       n       -       -       smtp -o smtp_dns_support_level=enabled
smtpsni   unix  -       -       n       -       -       smtp -o smtp_tls_servername=hostname
smtpdane  unix  -       -       n       -       -       smtp -o smtp_tls_security_level=dane
smtpenf   unix  -       -       n       -       -       smtp -o smtp_tls_security_level= -o smtp_enforce_tls=yes
smtpnote  unix  -       -       n       -       -       smtp -o smtp_tls_note_starttls_offer=yes
smtpcapath unix -       -       n       -       -       smtp -o smtp_tls_CAfile= -o smtp_tls_CApath=$ST_T/capath
smtpold   unix  -       -       n       -       -       smtp -o minimal_backoff_time=1s
smtpcname unix  -       -       n       -       -       smtp -o smtp_cname_overrides_servername=yes
smtpclist unix  -       -       n       -       -       smtp -o tls_high_cipherlist=AES128-SHA
smtpbal   unix  -       -       n       -       -       smtp -o inet_protocols=all -o smtp_address_preference=ipv6 -o smtp_randomize_addresses=no -o smtp_mx_address_limit=2
EOF
    : >"$d/conf/transport"; : >"$d/conf/policy"
    local c
    for c in $ST_CASES; do
        local dom=${c%%|*} rest=${c#*|}
        local route=${rest%%|*} policy=${rest#*|}
        echo "$dom $route" >>"$d/conf/transport"
        [ -n "$policy" ] && echo "${route#*:} $policy" >>"$d/conf/policy"
    done
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

# The server instance: the reference's smtpd on three ports, mail discarded.
st_server() {
    local d=$ST_T/srv
    inst_dirs "$d"
    inst_main_cf "$d" "$REF_LIBEXEC" \
        "myhostname = mx.tls.test" "mydestination =" "mynetworks = 127.0.0.0/8" \
        "smtpd_relay_restrictions = permit_mynetworks, reject" "default_transport = discard:" "relay_transport = discard:" \
        "smtpd_tls_security_level = may" "smtpd_tls_chain_files = $ST_T/srv.key, $ST_T/srv.crt, $ST_T/ca.crt" \
        "smtpd_tls_CAfile = $ST_T/ca.crt" "smtpd_tls_ask_ccert = yes" "smtpd_tls_loglevel = 1" \
        "smtpd_peername_lookup = no" "notify_classes ="
    inst_master_cf "$d" pickup cleanup qmgr rewrite bounce defer trace discard postlog proxymap
    cat >>"$d/conf/master.cf" <<EOF
127.0.0.1:26410 inet n  -       n       -       -       smtpd
127.0.0.1:26411 inet n  -       n       -       -       smtpd -o smtpd_tls_chain_files=$ST_T/self.key,$ST_T/self.crt
127.0.0.1:26412 inet n  -       n       -       -       smtpd -o smtpd_tls_security_level=none
127.0.0.1:26413 inet n  -       n       -       -       smtpd -o smtpd_tls_chain_files=$ST_T/srv.key,$ST_T/srv.crt
127.0.0.1:26414 inet n  -       n       -       -       smtpd -o syslog_name=postfix/ccert
127.0.0.1:26417 inet n  -       n       -       -       smtpd -o smtpd_tls_protocols=<=TLSv1.2
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
EOF
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

st_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ //' -e 's/\[[0-9]+\]: /[PID]: /g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/delay=[0-9.]+, delays=[0-9.\/]+/delay=D, delays=D/' \
        -e 's/, dsn=/, dsn=/' -e "s#$ST_T/(ref|ours)#INST#g" -e "s#$ST_T#TMP#g" \
        -e 's/:[0-9]{4,5}: /:PORT: /' \
        -e 's/(TLS library problem: error:[0-9A-F]+:[^:]*:[^:]*:[^:]*):.*/\1: (OpenSSL source location)/' "$@"
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! command -v openssl >/dev/null || ! command -v python3 >/dev/null \
    || ! command -v unshare >/dev/null || [ ! -x "$OUR_LIBEXEC/smtp" ]; then
    echo "smtp-tls: skipped: needs root, the postfix user, openssl, python3, unshare and our daemons ($OUR_LIBEXEC)"
else
    st_pids=
    st_stop() {
        local s
        for s in ref ours srv; do inst_stop "$ST_T/$s/conf"; done
        [ -n "$st_pids" ] && kill $st_pids 2>/dev/null
        return 0
    }
    trap 'st_stop; rm -rf "$COMPAT_TMP"' EXIT
    # Certificates: a CA, the server (mx.tls.test) and the client signed
    # by it, a self-signed one.
    (
        cd "$ST_T" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/C=XX/O=Test/CN=Test Root CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
        openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=mx.tls.test"
        printf 'subjectAltName=DNS:mx.tls.test,DNS:*.wild.tls.test,DNS:ta.dane.test\n' >srv.ext
        openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile srv.ext
        openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=client.tls.test"
        openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2
        cat client.key client.crt >client.pem
        openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.crt -days 2 -subj "/CN=self.tls.test"
        chmod 644 ./*.key ./*.pem
        mkdir capath && cp ca.crt capath/ && openssl rehash capath
    ) >/dev/null 2>&1
    ST_SRV_FP=$(openssl x509 -in "$ST_T/srv.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
    ST_SRV_PKFP=$(openssl x509 -in "$ST_T/srv.crt" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -c | sed 's/.*= //')
    ST_SRV_TLSA3=$(openssl x509 -in "$ST_T/srv.crt" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 | sed 's/.*= //')
    ST_CA_TLSA2=$(openssl x509 -in "$ST_T/ca.crt" -outform DER | openssl dgst -sha256 | sed 's/.*= //')
    ST_SELF_TLSA30=$(openssl x509 -in "$ST_T/self.crt" -outform DER | openssl dgst -sha512 | sed 's/.*= //')
    # domain|transport:nexthop|policy entry for the next hop (empty: none).
    # Every case has its own next-hop name (NAME.srv.test resolves to
    # 127.0.0.1), so that the policy table keys differ.
    ST_CASES="may.t|smtp:[may.srv.test]:26410|may
encrypt.t|smtp:[encrypt.srv.test]:26410|encrypt
verify-match.t|smtp:[verify-match.srv.test]:26410|verify match=mx.tls.test
verify-host.t|smtp:[mx.tls.test]:26410|verify
verify-host-bad.t|smtp:[verify-host.srv.test]:26410|verify
verify-cfg.t|smtpvfy:[verify-cfg.srv.test]:26410|verify
verify-wrong.t|smtp:[verify-wrong.srv.test]:26410|verify match=wrong.tls.test:other.tls.test
verify-wild.t|smtp:[verify-wild.srv.test]:26410|verify match=a.wild.tls.test
verify-wild2.t|smtp:[verify-wild2.srv.test]:26410|verify match=a.b.wild.tls.test
secure-dot.t|smtp:[secure-dot.srv.test]:26410|secure match=.tls.test
secure-cfg.t|smtpsec:[secure-cfg.srv.test]:26410|secure
secure-nexthop.t|smtp:[tls.test]:26410|secure
secure-nexthop-bad.t|smtp:[secure-nexthop.srv.test]:26410|secure
verify-self.t|smtp:[verify-self.srv.test]:26411|verify match=self.tls.test
encrypt-self.t|smtp:[encrypt-self.srv.test]:26411|encrypt
verify-noca.t|smtpnoca:[verify-noca.srv.test]:26410|verify match=mx.tls.test
may-noca.t|smtpnoca:[may-noca.srv.test]:26410|may
verify-leaf.t|smtp:[verify-leaf.srv.test]:26413|verify match=mx.tls.test
fp-cert.t|smtp:[fp-cert.srv.test]:26410|fingerprint match=$ST_SRV_FP
fp-pkey.t|smtp:[fp-pkey.srv.test]:26410|fingerprint match=ff:00|$ST_SRV_PKFP
fp-wrong.t|smtp:[fp-wrong.srv.test]:26410|fingerprint match=00:11:22:33
fp-wrong32.t|smtp:[fp-wrong32.srv.test]:26410|fingerprint match=0000000000000000000000000000000000000000000000000000000000000000
fp-cfg.t|smtpfp:[fp-cfg.srv.test]:26410|fingerprint
fp-none.t|smtp:[fp-none.srv.test]:26410|fingerprint
fp-bad.t|smtp:[fp-bad.srv.test]:26410|fingerprint match=zz:yy|$ST_SRV_FP
notls.t|smtp:[notls.srv.test]:26412|encrypt
notls-may.t|smtp:[notls-may.srv.test]:26412|may
tls12.t|smtp:[tls12.srv.test]:26410|encrypt protocols=TLSv1.2
tls13.t|smtp:[tls13.srv.test]:26410|encrypt protocols=>=TLSv1.3
proto-cfg.t|smtpproto:[proto-cfg.srv.test]:26410|encrypt
proto-bad.t|smtp:[proto-bad.srv.test]:26410|encrypt protocols=TLSv9
ciph-bad.t|smtp:[ciph-bad.srv.test]:26410|encrypt ciphers=bogus
exclude.t|smtp:[exclude.srv.test]:26410|encrypt protocols=TLSv1.2 exclude=AES256
sni.t|smtp:[sni.srv.test]:26410|encrypt servername=sni.tls.test
sni-bad.t|smtp:[sni-bad.srv.test]:26410|encrypt servername=bad_name!
sni-cfg.t|smtpsni:[sni-cfg.srv.test]:26410|encrypt
match-enc.t|smtp:[match-enc.srv.test]:26410|encrypt match=mx.tls.test
dup.t|smtp:[dup.srv.test]:26410|encrypt protocols=TLSv1.2 protocols=TLSv1.3
badattr.t|smtp:[badattr.srv.test]:26410|encrypt frob=1
noeq.t|smtp:[noeq.srv.test]:26410|encrypt frob
none-attr.t|smtp:[none-attr.srv.test]:26410|none match=x
cert.t|smtpcert:[cert.srv.test]:26414|encrypt
chain.t|smtpchain:[chain.srv.test]:26414|encrypt
ta.t|smtpta:[ta.srv.test]:26410|verify match=mx.tls.test
tafile.t|smtpnoca:[tafile.srv.test]:26410|verify match=mx.tls.test tafile=$ST_T/ca.crt
tafile-enc.t|smtp:[tafile-enc.srv.test]:26410|encrypt tafile=$ST_T/ca.crt
dane-nodns.t|smtpnodns:[dane-nodns.srv.test]:26410|dane
daneonly-nodns.t|smtpnodns:[daneonly-nodns.srv.test]:26410|dane-only
dane-ee.t|smtp:[ee.dane.test]:26410|dane-only
dane-ta.t|smtp:[ta.dane.test]:26410|dane-only
dane-ta-name.t|smtp:[ta-alias.dane.test]:26410|dane-only
dane-wrong.t|smtp:[wrong.dane.test]:26410|dane-only
dane-none.t|smtp:[none.dane.test]:26410|dane
daneonly-none.t|smtp:[none2.dane.test]:26410|dane-only
dane-insecure.t|smtp:[insecure.dane.test]:26410|dane-only
dane-unusable.t|smtp:[unusable.dane.test]:26410|dane
dane-mx.t|smtp:mx.dane.test:26410|dane
dane-self.t|smtp:[self.dane.test]:26411|dane-only
dane-mx-insecure.t|smtp:insecure-mx.dane.test:26410|dane
daneonly-mx-insecure.t|smtp:insecure-mx2.dane.test:26410|dane-only
note.t|smtpnote:[note.srv.test]:26410|none
note-may.t|smtpnote:[note-may.srv.test]:26410|may
capath.t|smtpcapath:[capath.srv.test]:26410|verify match=mx.tls.test
half-dane.t|smtpdane:insecure-mx3.dane.test:26410|
enforce.t|smtpenf:[enforce.srv.test]:26410|
enforce-host.t|smtpenf:[mx.tls.test]:26413|
tlsfail-may.t|smtp:[tlsfail-may.srv.test]:26415|may
tlsfail-enc.t|smtp:[tlsfail-enc.srv.test]:26415|encrypt
tlsfail-vfy.t|smtp:[tlsfail-vfy.srv.test]:26415|verify match=mx.tls.test
tlsfail-old.t|smtpold:[tlsfail-old.srv.test]:26415|may
tlsfail-old-enc.t|smtpold:[tlsfail-old-enc.srv.test]:26415|encrypt
tlsfail-eof.t|smtpold:[tlsfail-eof.srv.test]:26416|may
tlsfail-mx.t|smtpold:tlsfail-mx.dane.test:26415|may
tlsfail-proto.t|smtpold:[tlsfail-proto.srv.test]:26417|may protocols=>=TLSv1.3
tlsfail-proto-new.t|smtp:[tlsfail-proto-new.srv.test]:26417|may protocols=>=TLSv1.3
dane-cname.t|smtp:[cname-ta.dane.test]:26410|dane-only
dane-cname-alias.t|smtp:[cname-alias.dane.test]:26410|dane-only
cname-host.t|smtp:[cname-vfy.dane.test]:26410|verify match=hostname
cname-over.t|smtpcname:[cname-over.dane.test]:26410|verify match=hostname
balance.t|smtpbal:[bal.dane.test]:26410|may
grade-high.t|smtp:[grade-high.srv.test]:26410|encrypt protocols=TLSv1.2 ciphers=high
grade-null.t|smtp:[grade-null.srv.test]:26410|encrypt protocols=TLSv1.2 ciphers=null
grade-list.t|smtpclist:[grade-list.srv.test]:26410|encrypt protocols=TLSv1.2 ciphers=high
exclude-ecdhe.t|smtp:[exclude-ecdhe.srv.test]:26410|encrypt protocols=TLSv1.2 exclude=ECDHE
exclude-tls13.t|smtp:[exclude-tls13.srv.test]:26410|encrypt exclude=AES256
exclude-all.t|smtp:[exclude-all.srv.test]:26410|encrypt exclude=ALL
exclude-op.t|smtp:[exclude-op.srv.test]:26410|encrypt exclude=+RC4"
    ST_CASES=$(echo "$ST_CASES" | sed -e 's/ /\x01/g')
    ST_CASES=$(echo "$ST_CASES" | tr '\n' ' ')
    # A DNS server that answers with the AD bit for *.dane.test (except
    # insecure.dane.test) and TLSA records per host.
    cat >"$ST_T/dns.py" <<'PYEOF'
import socket, struct, sys
ta2, ee3, self30 = sys.argv[2], sys.argv[3], sys.argv[4]
A = {"ee.dane.test", "ta.dane.test", "ta-alias.dane.test", "wrong.dane.test", "none.dane.test", "none2.dane.test",
     "insecure.dane.test", "unusable.dane.test", "mx.dane.test", "mx2.dane.test", "mx3.dane.test", "mx4.dane.test", "self.dane.test", "mx.tls.test", "tls.test"}
TLSA = {"_26410._tcp.ee.dane.test": [(3, 1, 1, ee3)], "_26410._tcp.ta.dane.test": [(2, 0, 1, ta2)],
        "_26410._tcp.ta-alias.dane.test": [(2, 0, 1, ta2)], "_26410._tcp.cname-alias.dane.test": [(3, 1, 1, ee3)],
        "_26410._tcp.wrong.dane.test": [(3, 1, 1, "00" * 32)], "_26410._tcp.insecure.dane.test": [(3, 1, 1, ee3)],
        "_26410._tcp.unusable.dane.test": [(0, 0, 1, ta2), (3, 1, 1, "00")],
        "_26410._tcp.mx.dane.test": [(3, 1, 1, ee3)], "_26410._tcp.mx2.dane.test": [(3, 1, 1, ee3)],
        "_26410._tcp.mx3.dane.test": [(3, 1, 1, ee3)], "_26410._tcp.mx4.dane.test": [(3, 1, 1, ee3)], "_26411._tcp.self.dane.test": [(3, 0, 2, self30)]}
CNAME = {"cname-alias.dane.test": "mx.tls.test", "cname-ta.dane.test": "ta.dane.test", "cname-vfy.dane.test": "ta.dane.test", "cname-over.dane.test": "ta.dane.test"}
AAAA = {"bal.dane.test": ["::1", "::2"]}
A.add("bal.dane.test")
MX = {"mx.dane.test": [(10, "mx.dane.test")], "tlsfail-mx.dane.test": [(10, "tlsfail-mx.srv.test")], "insecure-mx.dane.test": [(10, "mx2.dane.test")],
      "insecure-mx2.dane.test": [(10, "mx3.dane.test")], "insecure-mx3.dane.test": [(10, "mx4.dane.test")]}
def name(b, o):
    labels = []
    while b[o]:
        labels.append(b[o + 1:o + 1 + b[o]].decode()); o += 1 + b[o]
    return ".".join(labels).lower(), o + 1
def enc(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.84.0.1", 53))
while True:
    q, peer = s.recvfrom(4096)
    qid, flags = struct.unpack(">HH", q[:4])
    qn, o = name(q, 12)
    qt, qc = struct.unpack(">HH", q[o:o + 4])
    question = q[12:o + 4]
    ans = []
    tn = qn
    if qn in CNAME:
        ans.append((qn, 5, enc(CNAME[qn])))
        tn = CNAME[qn] if qt != 5 else None
    if tn is None:
        pass
    elif qt == 1 and (tn in A or tn.endswith(".srv.test")):
        ans.append((tn, 1, socket.inet_aton("127.0.0.1")))
    elif qt == 28 and tn in AAAA:
        for a6 in AAAA[tn]:
            ans.append((tn, 28, socket.inet_pton(socket.AF_INET6, a6)))
    elif qt == 52 and tn in TLSA:
        for u, sel, m, h in TLSA[tn]:
            ans.append((tn, 52, bytes([u, sel, m]) + bytes.fromhex(h)))
    elif qt == 2 and tn == "":
        ans.append((tn, 2, enc("a.root.test")))
    elif qt == 15 and tn in MX:
        for p, h in MX[tn]:
            ans.append((tn, 15, struct.pack(">H", p) + enc(h)))
    known = qn in A or qn in MX or qn.endswith(".srv.test") or qn.endswith("dane.test") or qn == ""
    rcode = 0 if (ans or known) else 3
    ad = 0x20 if (qn.endswith("dane.test") and "insecure" not in qn) or qn == "" else 0
    rflags = 0x8000 | (flags & 0x0100) | 0x0080 | ad | rcode | 0x0400
    out = struct.pack(">HHHHHH", qid, rflags, 1, len(ans), 0, 0) + question
    for owner, t, rdata in ans:
        out += (b"\xc0\x0c" if owner == qn else enc(owner)) + struct.pack(">HHIH", t, 1, 300, len(rdata)) + rdata
    s.sendto(out, peer)
PYEOF
    python3 "$ST_T/dns.py" x "$ST_CA_TLSA2" "$ST_SRV_TLSA3" "$ST_SELF_TLSA30" &
    st_pids="$st_pids $!"
    # A peer that offers STARTTLS and then does not speak TLS: on 26415
    # it answers the ClientHello with a line of text, on 26416 it reads
    # it and closes the connection. Without STARTTLS it takes mail in
    # plaintext.
    cat >"$ST_T/badtls.py" <<'PYEOF'
import socket, threading
def session(c, port):
    f = c.makefile("rb")
    def say(t):
        c.sendall(t.encode() + b"\r\n")
    say("220 badtls.tls.test ESMTP")
    data = False
    try:
        for line in f:
            cmd = line.decode("latin-1").strip()
            if data:
                if cmd == ".":
                    data = False
                    say("250 2.0.0 Ok: queued")
                continue
            verb = cmd[:4].upper()
            if verb == "EHLO":
                say("250-badtls.tls.test")
                say("250-PIPELINING")
                say("250 STARTTLS")
            elif verb == "STAR":
                say("220 2.0.0 Ready to start TLS")
                if port == 26416:
                    # Take the ClientHello, then end the connection
                    # cleanly (no reset for unread data).
                    c.recv(16384)
                    c.shutdown(socket.SHUT_WR)
                    c.recv(16384)
                    break
                f.read(5)
                say("500 5.5.2 this is not TLS")
            elif verb == "DATA":
                data = True
                say("354 End data with <CR><LF>.<CR><LF>")
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                break
            else:
                say("250 2.0.0 Ok")
    except OSError:
        pass
    c.close()
def serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(20)
    while True:
        c, _ = s.accept()
        threading.Thread(target=session, args=(c, port), daemon=True).start()
threading.Thread(target=serve, args=(26416,), daemon=True).start()
serve(26415)
PYEOF
    python3 "$ST_T/badtls.py" &
    st_pids="$st_pids $!"
    printf 'nameserver 127.84.0.1\noptions timeout:1 attempts:1 trust-ad\n' >"$ST_T/resolv.conf"
    chmod 644 "$ST_T/resolv.conf"
    st_server
    inst_start "$ST_T/srv/conf" >/dev/null 2>&1
    for st_s in ref ours; do
        st_instance $st_s
        sed -i 's/\x01/ /g' "$ST_T/$st_s/conf/transport" "$ST_T/$st_s/conf/policy"
        find "$ST_T/$st_s/conf" -type f -exec touch -d '1 minute ago' {} +
        touch "$ST_T/$st_s/q/quick-start"
    done
    # Cases through "smtpold" (minimal_backoff_time = 1s) need mail that
    # waited before its delivery: it goes into the maildrop before the
    # instances start (a failed opportunistic handshake is retried in
    # plaintext only then).
    for st_c in $ST_CASES; do
        case "$st_c" in *"|smtpold:"*) ;; *) continue;; esac
        st_dom=${st_c%%|*}
        case "$st_dom" in *"${CASE_FILTER:-}"*) ;; *) continue;; esac
        for st_s in ref ours; do
            printf 'Subject: %s\n\nbody\n' "$st_dom" \
                | "$REF_SBIN/sendmail" -C "$ST_T/$st_s/conf" -f s@tls.test "r@$st_dom" 2>/dev/null
        done
    done
    sleep 1.2
    for st_s in ref ours; do
        unshare -m sh -c "mount --bind $ST_T/resolv.conf /etc/resolv.conf && $REF_SBIN/postfix -c $ST_T/$st_s/conf start" >/dev/null 2>&1
    done
    sleep 0.5
    # All cases at once, to both client instances. Every case has its own
    # next-hop name, which its log lines carry; the server tells the two
    # clients apart by their source address (ref 127.0.0.3, ours
    # 127.0.0.2) and logs its TLS sessions with client certificates
    # under its own name (port 26414).
    for st_c in $ST_CASES; do
        st_dom=${st_c%%|*}
        case "$st_c" in *"|smtpold:"*) continue;; esac
        case "$st_dom" in *"${CASE_FILTER:-}"*) ;; *) continue;; esac
        for st_s in ref ours; do
            printf 'Subject: %s\n\nbody\n' "$st_dom" | "$REF_SBIN/sendmail" -C "$ST_T/$st_s/conf" -f s@tls.test "r@$st_dom"
        done
    done
    for st_s in ref ours; do queue_settled "$ST_T/$st_s/q" 50; done
    sleep 1
    for st_s in ref ours; do queue_settled "$ST_T/$st_s/q" 50; done
    mkdir -p "$ST_T/cases"
    for st_c in $ST_CASES; do
        st_dom=${st_c%%|*}
        case "$st_dom" in *"${CASE_FILTER:-}"*) ;; *) continue;; esac
        st_host=${st_c#*|}; st_host=${st_host%%|*}; st_host=${st_host#*:}; st_host=${st_host#[}; st_host=${st_host%%[]:]*}
        st_re="(^|[^-a-z0-9.])$(echo "$st_host" | sed 's/\./\\./g')([^-a-z0-9.]|\$)|to=<r@$st_dom>"
        for st_s in ref ours; do
            # Also the lines that name only the queue ID of the case's message.
            st_ids=$(grep -E 'postfix/smtp\[' "$ST_T/$st_s/maillog" | grep -E "to=<r@$st_dom>" \
                | sed -E 's/.*: ([0-9A-F]{10,12}): to=.*/\1/' | sort -u | tr '\n' '|')
            st_re2="$st_re${st_ids:+|: (${st_ids%|}): }"
            grep -E 'postfix/smtp\[' "$ST_T/$st_s/maillog" | grep -E "$st_re2" | st_norm >"$ST_T/cases/$st_dom.$st_s"
        done
        compare_files "smtp-tls-$st_dom" "$ST_T/cases/$st_dom.ref" "$ST_T/cases/$st_dom.ours"
    done
    for st_s in ref ours; do
        if [ $st_s = ref ]; then st_a=127.0.0.3; else st_a=127.0.0.2; fi
        grep -F "[$st_a]" "$ST_T/srv/maillog" | grep -E 'TLS connection established from|SSL_accept|lost connection' \
            | st_norm | sed -E -e 's/ key-exchange .*//' -e "s/unknown\[$st_a\]/CLIENT/g" | LC_ALL=C sort >"$ST_T/cases/server.$st_s"
    done
    compare_files "smtp-tls-server" "$ST_T/cases/server.ref" "$ST_T/cases/server.ours"
    # ST_KEEP=DIR keeps the three instances' logs for a closer look.
    if [ -n "${ST_KEEP:-}" ]; then
        for st_s in ref ours srv; do cp "$ST_T/$st_s/maillog" "$ST_KEEP/$st_s.maillog"; done
    fi
    st_stop
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
