# postqueue.sh - postqueue(1) and showq(8) against the reference, on a
# private reference instance (loopback only) whose mail is deferred by
# the error(8) "retry" transport, so that defer logfiles exist: -p and
# -j listings (short and long queue ID layouts, hold "!", expired "#",
# quoted and empty addresses), the flush requests -f, -i and -s (with
# and without fast_flush_domains), usage and argument errors, and, with
# the instance stopped, the stand-alone path ("accessing queue
# directly"). When our showq daemon is built (OUR_LIBEXEC/showq), the
# reference postqueue also lists the queue through our showq, and ours
# through the reference's.
#
# Needs root and the postfix user; otherwise only the error cases run.

PQ_T=$COMPAT_TMP/pq
PQ_Q=$PQ_T/q
OUR_LIBEXEC=${OUR_LIBEXEC:-$OUR_SBIN/../libexec/postfix}
mkdir -p "$PQ_T/conf"
chmod 711 "$COMPAT_TMP"
chmod 755 "$PQ_T"

cat >"$PQ_T/conf/main.cf" <<EOF
queue_directory = $PQ_Q
data_directory = $PQ_T/data
maillog_file = $PQ_T/maillog
maillog_file_prefixes = $PQ_T
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = pq.example.com
mydomain = example.com
mydestination =
default_transport = retry:4.4.1 deferred for testing
hash_queue_names = deferred, defer
header_checks = regexp:$PQ_T/conf/header_checks
EOF
printf '/^Subject: hold/ HOLD\n' >"$PQ_T/conf/header_checks"
cat >"$PQ_T/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
showq     unix  n       -       n       -       -       showq
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
retry     unix  -       -       n       -       -       error
flush     unix  n       -       n       1000?   0       flush
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
# Variants: long queue ID layout; fast flush for example.org; our showq
# (stand-alone) or the reference's via daemon_directory.
pq_variant() {
    local name=$1; shift
    mkdir -p "$PQ_T/$name"
    cp "$PQ_T/conf/main.cf" "$PQ_T/conf/master.cf" "$PQ_T/$name/"
    for l in "$@"; do echo "$l" >>"$PQ_T/$name/main.cf"; done
    find "$PQ_T/$name" "$PQ_T/conf" -maxdepth 1 -type f -exec touch -d '1 minute ago' {} +
}
pq_variant long "enable_long_queue_ids = yes"
pq_variant ff "fast_flush_domains = example.org"
pq_variant ours "daemon_directory = $OUR_LIBEXEC"
pq_variant noshowq "daemon_directory = $PQ_T/nowhere"
pq_variant badcf "hash_queue_depth = x"
PQ_C=$PQ_T/conf

pq() { local name=$1; shift; compare "postqueue $name" postqueue "$@"; }

# Errors that need no queue.
pq "no args" -c "$PQ_C"
pq "no main.cf" -c "$PQ_T/nonexistent" -p
pq "-p -j" -c "$PQ_C" -p -j
pq "-f -s" -c "$PQ_C" -f -s example.org
pq "bad option" -c "$PQ_C" -x
pq "extra argument" -c "$PQ_C" -p extra
pq "-c missing arg" -c
pq "-i bad id" -c "$PQ_C" -i 'bad.id'
pq "-i long bad id" -c "$PQ_C" -i "$(head -c 150 /dev/zero | tr '\0' '.')"
pq "-s bad site" -c "$PQ_C" -s 'bad..site'
pq "-s bad literal" -c "$PQ_C" -s '[1.2.3]'
pq "-s bad literal text after" -c "$PQ_C" -s '[1.2.3.4]x'
pq "-s long bad site" -c "$PQ_C" -s "$(head -c 150 /dev/zero | tr '\0' '-')"
pq "-s numeric site" -c "$PQ_C" -s '1234'
pq "bad main.cf value" -c "$PQ_T/badcf" -p

PQ_UP=
if [ "$(id -u)" = 0 ] && mkdir -p "$PQ_Q" "$PQ_T/data" && chown postfix "$PQ_T/data" 2>/dev/null \
    && "$REF_SBIN/postfix" -c "$PQ_C" check >/dev/null 2>&1; then
    pq_old_trap=$(trap -p EXIT)
    trap 'inst_stop "$PQ_C"; rm -rf "$COMPAT_TMP"' EXIT
    if inst_start "$PQ_C" >/dev/null 2>&1; then
        PQ_UP=1
    else
        echo "postqueue: skipped: the reference instance did not start"
    fi
else
    echo "postqueue: skipped: cases with a live queue need root and the postfix user"
fi

if [ -n "$PQ_UP" ]; then
    pq_send() { MAIL_CONFIG=$PQ_C "$REF_SBIN/sendmail" "$@" 2>/dev/null; }
    pq "empty queue" -c "$PQ_C" -p
    pq "empty queue json" -c "$PQ_C" -j
    printf 'Subject: one\n\nbody\n' | pq_send -f s1@example.com r1@example.org r2@example.net
    printf 'Subject: two\n\n%s\n' "$(head -c 3000 /dev/zero | tr '\0' 'x')" | pq_send -f '' r3@example.org
    printf 'Subject: three\n\nbody\n' | pq_send -f 'odd sender@example.com' '"quoted local"@example.org' 'a.b@example.org'
    printf 'Subject: hold me\n\nbody\n' | pq_send -f h@example.com held@example.org
    printf 'Subject: tab\n\nbody\n' | pq_send -f "$(printf 'ctl\001x@example.com')" 'r4@example.org'
    printf 'Subject: hold two\n\nbody\n' | pq_send -f h2@example.com held2@example.org held3@example.org
    # Wait until the deferred and held mail is in place (5 deferred, 2 held).
    for pq_i in $(seq 1 100); do
        [ "$(find "$PQ_Q/deferred" -type f | wc -l)" -ge 5 ] && [ "$(find "$PQ_Q/hold" -type f | wc -l)" -ge 2 ] \
            && [ "$(find "$PQ_Q/defer" -type f | wc -l)" -ge 5 ] && break
        sleep 0.2
    done
    # A forced expiry mark, a hand-made defer logfile (old and new style
    # entries, a second reason), and a held file with a logfile.
    pq_f=$(find "$PQ_Q/deferred" -type f | sort | head -1)
    chmod g+x "$pq_f"
    pq_id=$(find "$PQ_Q/deferred" -type f | sort | sed -n 2p | xargs basename)
    pq_log=$(find "$PQ_Q/defer" -name "$pq_id")
    if [ -n "$pq_log" ]; then
        printf '<r3@example.org>: old style reason\n\nrecipient=other@example.org\nreason=another reason\nbogus line\n\n' >>"$pq_log"
    fi
    sleep 0.5
    for pq_v in conf long; do
        pq "-p ($pq_v)" -c "$PQ_T/$pq_v" -p
        pq "-j ($pq_v)" -c "$PQ_T/$pq_v" -j
    done
    pq "-s not configured" -c "$PQ_C" -s example.org
    pq "-s literal not configured" -c "$PQ_C" -s '[127.0.0.1]'
    # Our showq daemon stand-alone, under the reference postqueue.
    if [ -x "$OUR_LIBEXEC/showq" ]; then
        for pq_m in -p -j; do
            # The instance is up: our showq only runs when the socket is gone.
            mv "$PQ_Q/public/showq" "$PQ_Q/public/showq.off"
            ( cd "$COMPAT_TMP" && "$REF_SBIN/postqueue" -c "$PQ_T/ours" "$pq_m" ) 2>&1 \
                | sed '/accessing queue directly/d' >"$PQ_T/ours.$pq_m"
            mv "$PQ_Q/public/showq.off" "$PQ_Q/public/showq"
            ( cd "$COMPAT_TMP" && "$REF_SBIN/postqueue" -c "$PQ_C" "$pq_m" ) >"$PQ_T/ref.$pq_m" 2>&1
            compare_files "postqueue reference client, our showq $pq_m" "$PQ_T/ref.$pq_m" "$PQ_T/ours.$pq_m"
        done
    else
        echo "postqueue: skipped: our showq daemon is not built ($OUR_LIBEXEC/showq)"
    fi
    # Flush requests last: they make qmgr move the deferred mail.
    pq "-s configured" -c "$PQ_T/ff" -s example.org
    pq "-s subdomain configured" -c "$PQ_T/ff" -s sub.example.org
    pq "-i id" -c "$PQ_C" -i "$pq_id"
    pq "-i unknown id" -c "$PQ_C" -i ABCDEF123
    pq "-f" -c "$PQ_C" -f
    inst_stop "$PQ_C"
    # Stand-alone: the mail system is down.
    sleep 0.5
    pq "down -p" -c "$PQ_C" -p
    pq "down -j" -c "$PQ_T/long" -j
    pq "down -f" -c "$PQ_C" -f
    pq "down -i" -c "$PQ_C" -i "$pq_id"
    pq "down -s" -c "$PQ_T/ff" -s example.org
    pq "down, no showq program" -c "$PQ_T/noshowq" -p
    if [ -x "$OUR_LIBEXEC/showq" ]; then
        ( cd "$COMPAT_TMP" && "$REF_SBIN/postqueue" -c "$PQ_C" -p ) >"$PQ_T/ref.down" 2>&1
        ( cd "$COMPAT_TMP" && "$REF_SBIN/postqueue" -c "$PQ_T/ours" -p ) >"$PQ_T/ours.down" 2>&1
        compare_files "postqueue down, reference client, our showq" "$PQ_T/ref.down" "$PQ_T/ours.down"
    fi
    eval "$pq_old_trap"
fi
