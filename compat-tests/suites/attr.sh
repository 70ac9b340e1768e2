# attr.sh - our attribute-protocol clients (src/global/Attr) against the
# reference Postfix's daemons. Sourced by run-all.sh.
#
# A throwaway reference instance runs under /tmp (its own queue, loopback
# only, no inet services). Through src/attrprobe we then:
#   - ask its trivial-rewrite (private/rewrite) to rewrite and resolve a
#     set of addresses; the answers must be what Postfix gives for that
#     main.cf (table below, recorded from Postfix 3.7.11);
#   - compare byte for byte the requests our client writes with those the
#     reference's own cleanup(8) and qmgr(8) write (captured with strace
#     while they handle a message), and our client's reading of the same
#     questions with the replies they received;
#   - leave a message in the maildrop queue without waking pickup, wake it
#     with our trigger (pickup is a FIFO here), and see it leave maildrop;
#     then flush the deferred queue with our qmgr trigger (a socket) and
#     see qmgr retry the message;
#   - list the queue through public/showq as postqueue reads it, and
#     compare with the reference postqueue -j;
#   - serve private/rewrite ourselves (trivial-rewrite removed from
#     master.cf) and see the reference's cleanup and qmgr act on our
#     answers.
# Needs root (the instance) and, for the byte comparisons, strace and
# python3. ATTRPROBE names a prebuilt probe; else it is built here.

attr_suite() {
    local root T alt mp qp probe i n ok s_m s_q
    root=$(cd "$here/.." && pwd)
    if [ "$(id -u)" != 0 ]; then
        echo "attr: skipped: a reference Postfix instance needs root"
        return 0
    fi
    if [ ! -x "$REF_SBIN/postfix" ]; then
        echo "attr: skipped: no reference postfix in $REF_SBIN"
        return 0
    fi

    attrprobe_wait
    probe=${ATTRPROBE:-}
    if [ -z "$probe" ]; then
        if ! dotnet build "$root/src/attrprobe/attrprobe.csproj" --artifacts-path "$COMPAT_TMP/attrprobe" \
                --nologo -v quiet -clp:ErrorsOnly >"$COMPAT_TMP/attrprobe.log" 2>&1; then
            echo "FAIL attr-build (attrprobe does not build)"
            sed 's/^/    /' "$COMPAT_TMP/attrprobe.log" | head -20
            record attr-build 0
            return 0
        fi
        probe=$COMPAT_TMP/attrprobe/bin/attrprobe/debug/attrprobe
    fi

    # The instance.
    T=$(mktemp -d /tmp/attr-ref.XXXXXX)
    chmod 755 "$T"
    mkdir -p "$T/q" "$T/d"
    cat >"$T/main.cf" <<EOF
queue_directory = $T/q
data_directory = $T/d
maillog_file = $T/maillog
maillog_file_prefixes = $T
inet_interfaces = loopback-only
compatibility_level = 3.6
mydestination = localhost
myhostname = host.example.com
mydomain = example.com
alias_maps = hash:$T/aliases
alias_database = hash:$T/aliases
EOF
    # No inet services; pickup listens on a FIFO (master.cf's fifo type)
    # and wakes up only when triggered.
    sed -e 's/^\(pickup[[:space:]]\{1,\}\)unix\([[:space:]]\{1,\}[^[:space:]]\{1,\}[[:space:]]\{1,\}[^[:space:]]\{1,\}[[:space:]]\{1,\}[^[:space:]]\{1,\}[[:space:]]\{1,\}\)60/\1fifo\23600/' \
        /etc/postfix/master.cf >"$T/master.cf"
    chown "$("$REF_SBIN/postconf" -c "$T" -h mail_owner)" "$T/d"
    "$REF_SBIN/postconf" -c "$T" -M 2>/dev/null | awk '$2 == "inet" { print $1 "/inet" }' >"$T/inet"
    while read -r s_m; do "$REF_SBIN/postconf" -c "$T" -M# "$s_m"; done <"$T/inet"
    mkdir -p "$T/alt"
    cp "$T/main.cf" "$T/alt/main.cf"
    echo "pickup_service_name = nopickup" >>"$T/alt/main.cf"

    "$REF_SBIN/postfix" -c "$T" check >"$T/check.log" 2>&1
    inst_start "$T" >"$T/start.log" 2>&1
    for i in $(seq 1 100); do
        [ -S "$T/q/private/rewrite" ] && [ -p "$T/q/public/pickup" ] && [ -S "$T/q/public/qmgr" ] && break
        sleep 0.1
    done
    mp=$(tr -d ' ' <"$T/q/pid/master.pid" 2>/dev/null)
    if [ -z "$mp" ] || ! [ -S "$T/q/private/rewrite" ] || ! [ -p "$T/q/public/pickup" ]; then
        echo "FAIL attr-instance (the reference instance did not start)"
        sed 's/^/    /' "$T/start.log" "$T/maillog" 2>/dev/null | tail -20
        record attr-instance 0
        attr_stop "$T" "$mp"
        return 0
    fi
    record attr-instance 1

    # Rewriting and resolving: our client, Postfix's answers for this main.cf.
    attr_expect rewrite-local "$probe" "$T" rewrite local -- \
        'joe' 'joe@host.example.com' \
        'user+ext@localhost' 'user+ext@localhost' \
        'bob@[127.0.0.1]' 'bob@[127.0.0.1]' \
        '@a:x@b' 'x@b' \
        'foo bar' '"foo bar"@host.example.com' \
        '<joe>' '"<joe>"@host.example.com' \
        'a!b' 'b@a' \
        'user%dom@localhost' 'user%dom@localhost' \
        'joe@localhost.' 'joe@localhost' \
        'user@host' 'user@host' \
        'User@LocalHost' 'User@LocalHost' \
        'user@' 'user@' \
        '' ''
    attr_expect rewrite-remote "$probe" "$T" rewrite remote -- \
        'joe' 'joe' \
        'joe@localhost' 'joe@localhost'
    attr_expect resolve "$probe" "$T" resolve joe -- \
        'user+ext@localhost' 'local host.example.com user+ext@localhost 256' \
        'remote@example.org' 'smtp example.org remote@example.org 4096' \
        'bob' 'smtp host.example.com bob@host.example.com 4096' \
        '@a:x@b' 'smtp b @a:x@b 4098' \
        'x@[1.2.3.4]' 'smtp [1.2.3.4] x@[1.2.3.4] 4096' \
        'a@b@c' 'smtp c a@b@c 4098' \
        'user%dom@localhost' 'smtp dom user@dom 4096' \
        'a!b' 'smtp a b@a 4096' \
        'User@LocalHost' 'local host.example.com User@LocalHost 256' \
        'root@localhost.' 'local host.example.com root@localhost 256' \
        'a b@localhost' 'local host.example.com a b@localhost 256' \
        'user@' 'CHANNEL NOT UPDATED NEXTHOP NOT UPDATED user@ 4100' \
        'x@a..b' 'CHANNEL NOT UPDATED NEXTHOP NOT UPDATED x@a..b 4100' \
        'x@[999.1.1.1]' 'CHANNEL NOT UPDATED NEXTHOP NOT UPDATED x@[999.1.1.1] 4100' \
        '' 'smtp host.example.com MAILER-DAEMON@host.example.com 4096'
    attr_expect verify "$probe" "$T" verify '' -- \
        'user@localhost' 'local host.example.com user@localhost 256'

    # A message for four local recipients (nothing leaves the host), in
    # several address forms, waits in maildrop: postdrop (alt config)
    # tried to wake public/nopickup; our trigger to it fails the same way.
    printf '%s\n' 'To: rcpt1@localhost, User+Ext@LocalHost' 'Cc: "foo bar"@localhost, <@a:x@localhost>' \
        'From: Joe <joe>' 'Subject: attr' '' 'hello' >"$T/msg"
    MAIL_CONFIG=$T/alt "$REF_SBIN/sendmail" -t -f joe <"$T/msg" 2>"$T/postdrop.err"
    "$probe" -c "$T" trigger public nopickup W 2>"$T/ours.err"
    if [ "$(sed 's/^[a-z]*: //' "$T/postdrop.err")" = "$(sed 's/^[a-z]*: //' "$T/ours.err")" ] && [ -s "$T/ours.err" ]; then
        record attr-trigger-missing 1
    else
        echo "FAIL attr-trigger-missing"
        diff "$T/postdrop.err" "$T/ours.err" | sed 's/^/    /'
        record attr-trigger-missing 0
    fi

    # Capture what the reference's cleanup and qmgr say to trivial-rewrite
    # while they handle the message that waits in maildrop.
    s_m= s_q=
    if command -v strace >/dev/null && command -v python3 >/dev/null; then
        qp=$(ps -o pid=,comm= --ppid "$mp" | awk '$2 == "qmgr" { print $1 }')
        strace -f -p "$mp" -e trace=read,write,connect -s 65535 -xx -o "$T/trace.master" 2>"$T/strace-m.err" &
        s_m=$!
        if [ -n "$qp" ]; then
            strace -p "$qp" -e trace=read,write,connect -s 65535 -xx -o "$T/trace.qmgr" 2>"$T/strace-q.err" &
            s_q=$!
        fi
        for i in $(seq 1 50); do
            grep -q attached "$T/strace-m.err" && { [ -z "$s_q" ] || grep -q attached "$T/strace-q.err"; } && break
            sleep 0.1
        done
    else
        echo "attr: byte comparisons skipped (needs strace and python3)"
    fi

    # Our FIFO trigger wakes pickup: the message leaves maildrop.
    n=$(ls "$T/q/maildrop" | wc -l)
    if [ "$n" != 1 ]; then
        echo "FAIL attr-trigger-pickup (expected one maildrop file, found $n)"
        record attr-trigger-pickup 0
    else
        "$probe" -c "$T" wakeup
        ok=0
        for i in $(seq 1 100); do
            [ -z "$(ls "$T/q/maildrop")" ] && { ok=1; break; }
            sleep 0.1
        done
        [ $ok = 1 ] || echo "FAIL attr-trigger-pickup (the maildrop file stayed)"
        record attr-trigger-pickup $ok
    fi

    # Local delivery defers (no alias database); our socket trigger to
    # qmgr ("FADI", as postqueue -f) makes qmgr try again at once.
    ok=0
    for i in $(seq 1 100); do
        [ "$(grep -c 'status=deferred' "$T/maillog")" -ge 4 ] && { ok=1; break; }
        sleep 0.1
    done
    if [ $ok = 1 ]; then
        "$probe" -c "$T" flush
        ok=0
        for i in $(seq 1 100); do
            [ "$(grep -c 'status=deferred' "$T/maillog")" -ge 8 ] && { ok=1; break; }
            sleep 0.1
        done
        [ $ok = 1 ] || echo "FAIL attr-trigger-qmgr (no second delivery attempt after our flush)"
    else
        echo "FAIL attr-trigger-qmgr (the message was not deferred)"
        sed 's/^/    /' "$T/maillog" | tail -5
    fi
    record attr-trigger-qmgr $ok

    # The queue listing through public/showq: ours as postqueue reads it,
    # against the reference postqueue's own (-j) reading.
    "$probe" -c "$T" showq >"$T/showq.ours" 2>"$T/showq.err"
    if command -v python3 >/dev/null; then
        "$REF_SBIN/postqueue" -c "$T" -j | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    print(m["queue_name"], m["queue_id"], m["sender"])
    for r in m["recipients"]:
        print("\t%s (%s)" % (r["address"], r.get("delay_reason", "")))
' >"$T/showq.ref"
    else
        : >"$T/showq.ref"
        for f in "$T"/q/deferred/*/*; do echo "deferred $(basename "$f") joe@host.example.com"; done >"$T/showq.ref"
        grep -v '^	' "$T/showq.ours" >"$T/showq.ours.ids"
        mv "$T/showq.ours.ids" "$T/showq.ours"
    fi
    if [ -s "$T/showq.ref" ] && cmp -s "$T/showq.ref" "$T/showq.ours" && [ ! -s "$T/showq.err" ]; then
        record attr-showq 1
    else
        echo "FAIL attr-showq (our showq listing differs from postqueue's)"
        diff "$T/showq.ref" "$T/showq.ours" | sed 's/^/    /'
        sed 's/^/    /' "$T/showq.err"
        record attr-showq 0
    fi

    if [ -n "$s_m" ]; then
        kill "$s_m" ${s_q:+"$s_q"} 2>/dev/null
        wait "$s_m" ${s_q:+"$s_q"} 2>/dev/null
        attr_replay "$probe" "$T"
    fi

    attr_stub "$probe" "$T" "$mp"
    mp=$(tr -d ' ' <"$T/q/pid/master.pid" 2>/dev/null)
    attr_stop "$T" "$mp"
}

# attr_stub PROBE T MASTER_PID - the other direction: our AttrStream as
# the server. trivial-rewrite leaves master.cf, our stub serves
# private/rewrite, and the reference's cleanup and qmgr (its clients)
# handle a new message with the stub's answers: the sender gets the
# stub's domain, the recipient goes to the error transport.
attr_stub() {
    local probe=$1 T=$2 mp=$3 stub i ok
    inst_stop "$T"
    "$REF_SBIN/postconf" -c "$T" -M# rewrite/unix
    "$probe" -c "$T" stub-rewrite stub.invalid "stub says no" 2>"$T/stub.err" &
    stub=$!
    for i in $(seq 1 100); do
        [ -S "$T/q/private/rewrite" ] && break
        sleep 0.1
    done
    inst_start "$T" >>"$T/start.log" 2>&1
    for i in $(seq 1 100); do
        [ -p "$T/q/public/pickup" ] && [ -S "$T/q/public/qmgr" ] && break
        sleep 0.1
    done
    printf 'Subject: stub\n\nhello\n' | MAIL_CONFIG=$T "$REF_SBIN/sendmail" -f sbob somebody
    ok=0
    for i in $(seq 1 100); do
        grep -q 'to=<somebody@stub.invalid>.*status=bounced (stub says no)' "$T/maillog" && { ok=1; break; }
        sleep 0.1
    done
    if grep -q 'from=<sbob@stub.invalid>' "$T/maillog"; then
        record attr-stub-rewrite 1
    else
        echo "FAIL attr-stub-rewrite (cleanup did not use our rewrite answer)"
        record attr-stub-rewrite 0
    fi
    if [ $ok = 1 ]; then
        record attr-stub-resolve 1
    else
        echo "FAIL attr-stub-resolve (qmgr did not use our resolve answer)"
        grep -v 'postfix-script' "$T/maillog" | tail -5 | sed 's/^/    /'
        record attr-stub-resolve 0
    fi
    if [ -s "$T/stub.err" ]; then
        echo "FAIL attr-stub-quiet (our server complained)"
        sed 's/^/    /' "$T/stub.err"
        record attr-stub-quiet 0
    else
        record attr-stub-quiet 1
    fi
    kill "$stub" 2>/dev/null
    wait "$stub" 2>/dev/null
}

# attr_expect NAME PROBE T CMD ARG -- IN OUT [IN OUT]... - our client's
# answer for each IN must be OUT.
attr_expect() {
    local name=$1 probe=$2 T=$3 cmd=$4 arg=$5 got want
    shift 6
    while [ $# -ge 2 ]; do
        want=$2
        got=$("$probe" -c "$T" "$cmd" "$arg" "$1" 2>"$T/probe.err")
        if [ "$got" = "$want" ] && [ ! -s "$T/probe.err" ]; then
            record "attr-$name-<$1>" 1
        else
            echo "FAIL attr-$name-<$1>: want '$want', got '$got'"
            sed 's/^/    /' "$T/probe.err"
            record "attr-$name-<$1>" 0
        fi
        shift 2
    done
}

# attr_replay PROBE T - replay the captured requests with our client:
# the same request bytes, the same answers.
attr_replay() {
    local probe=$1 T=$2 kind arg addr reqhex reply got n=0
    python3 - "$T/trace.master" "$T/trace.qmgr" >"$T/conversations" <<'PY'
import re, sys
# strace -f -xx output: per (pid, fd) connected to .../private/rewrite, pair
# each request written with the reply read next.
call = re.compile(r'(?:\[pid\s+(\d+)\] |(\d+) +)?(\w+)\((\d+), (?:\{sa_family=AF_UNIX, sun_path=)?"((?:\\x[0-9a-f]{2})*)"')
unfinished = re.compile(r'(?:\[pid\s+(\d+)\] |(\d+) +)?(\w+)\((\d+),\s*<unfinished')
resumed = re.compile(r'(?:\[pid\s+(\d+)\] |(\d+) +)?<\.\.\. (\w+) resumed>\s*"((?:\\x[0-9a-f]{2})*)"')
def unhex(s): return bytes(int(h, 16) for h in re.findall(r'\\x([0-9a-f]{2})', s))
for path in sys.argv[1:]:
    try:
        lines = open(path, errors='replace').read().splitlines()
    except OSError:
        continue
    fds, pending, req, buf = {}, {}, {}, {}
    def event(pid, name, fd, data, line):
        key = (pid, fd)
        if name == 'connect':
            fds[key] = data.decode(errors='replace')
            req.pop(key, None); buf.pop(key, None)
            return
        if not fds.get(key, '').endswith('private/rewrite'):
            return
        m = re.search(r'= (-?\d+)\s*$', line)
        n = int(m.group(1)) if m else -1
        if n < 0 and name == 'write' and '<unfinished' in line:
            n = len(data)   # the result is on the "resumed" line
        if n <= 0:
            return
        data = data[:n]
        if name == 'write':
            req[key] = data; buf[key] = b''
        elif name == 'read' and key in req:
            buf[key] += data
            if buf[key].endswith(b'\0\0'):
                q = req.pop(key).split(b'\0'); r = buf.pop(key).split(b'\0')
                a = dict(zip(q[0:-2:2], q[1:-2:2]))
                if a.get(b'request') == b'rewrite':
                    out = r[3]
                    print('rewrite', a[b'rule'].hex(), a[b'address'].hex(), req_hex(q), out.hex(), sep='\t')
                elif a.get(b'request') in (b'resolve', b'verify'):
                    out = b' '.join([r[3], r[5], r[7], r[9]])
                    print(a[b'request'].decode(), a[b'sender'].hex(), a[b'address'].hex(), req_hex(q), out.hex(), sep='\t')
    def req_hex(q): return b'\0'.join(q).hex()
    for line in lines:
        m = unfinished.match(line)
        if m:
            pending[(m.group(1) or m.group(2) or '0', m.group(3))] = m.group(4); continue
        m = resumed.match(line)
        if m:
            pid = m.group(1) or m.group(2) or '0'
            fd = pending.pop((pid, m.group(3)), None)
            if fd is not None:
                event(pid, m.group(3), fd, unhex(m.group(4)), line)
            continue
        m = call.match(line)
        if m:
            event(m.group(1) or m.group(2) or '0', m.group(3), m.group(4), unhex(m.group(5)), line)
PY
    while IFS=$'\t' read -r kind arg addr reqhex reply; do
        n=$((n + 1))
        arg=$(printf '%s' "$arg" | xxd -r -p)
        addr=$(printf '%s' "$addr" | xxd -r -p)
        reply=$(printf '%s' "$reply" | xxd -r -p)
        got=$("$probe" -c "$T" -x "$kind" "$arg" "$addr" 2>"$T/probe.err")
        if [ "$(printf '%s\n' "$got" | sed -n 1p)" = "$reqhex" ]; then
            record "attr-bytes-$kind-<$addr>" 1
        else
            echo "FAIL attr-bytes-$kind-<$addr>: request bytes differ"
            echo "    reference: $reqhex"
            echo "    ours:      $(printf '%s\n' "$got" | sed -n 1p)"
            record "attr-bytes-$kind-<$addr>" 0
        fi
        if [ "$(printf '%s\n' "$got" | sed -n 2p)" = "$reply" ] && [ ! -s "$T/probe.err" ]; then
            record "attr-replay-$kind-<$addr>" 1
        else
            echo "FAIL attr-replay-$kind-<$addr>: reference client got '$reply', ours '$(printf '%s\n' "$got" | sed -n 2p)'"
            sed 's/^/    /' "$T/probe.err"
            record "attr-replay-$kind-<$addr>" 0
        fi
    done <"$T/conversations"
    # cleanup rewrites the sender and recipients; qmgr resolves the recipient.
    if grep -q '^rewrite' "$T/conversations" && grep -q '^resolve' "$T/conversations"; then
        record attr-captured 1
    else
        echo "FAIL attr-captured (no rewrite or resolve conversation captured; $n found)"
        record attr-captured 0
    fi
}

# attr_stop T MASTER_PID - stop the instance, end what is left by PID,
# remove it.
attr_stop() {
    local T=$1 mp=$2 kids p i
    kids=
    [ -n "$mp" ] && kids=$(ps -o pid= --ppid "$mp" 2>/dev/null)
    inst_stop "$T"
    for i in $(seq 1 50); do
        [ -n "$mp" ] && kill -0 "$mp" 2>/dev/null || break
        sleep 0.1
    done
    for p in $mp $kids; do
        kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
    done
    # ATTR_KEEP=DIR keeps a copy of the instance (traces, logs) for study.
    [ -n "${ATTR_KEEP:-}" ] && cp -a "$T" "$ATTR_KEEP"
    rm -rf "$T"
}

attr_suite
