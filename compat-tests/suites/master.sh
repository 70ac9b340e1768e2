# master.sh - master(8) against the reference: two private instances that
# differ only in their master (and postlogd): the reference's, and ours.
# Both run the reference's other daemons from a daemon_directory of links,
# are started and stopped by the reference postfix(1), and get the same
# mail from the reference sendmail. Compared: postqueue -p listings, the
# maillog lines (times, pids and queue ids normalized), master -t answers,
# the sockets made at start and after a reload that adds a service, and
# what is left after stop. Also master's own option and master.cf errors.
#
# Needs root and the postfix user; skipped otherwise.

MS_T=$COMPAT_TMP/master
mkdir -p "$MS_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$MS_T"

# ms_instance NAME PORT DAEMONS... - config, queue and a mixed daemon_directory.
ms_instance() {
    local n=$1 port=$2; shift 2
    local d=$MS_T/$n
    mkdir -p "$d/conf" "$d/q" "$d/data"
    chown postfix "$d/data"
    mixed_daemon_dir "$d/libexec" "$@"
    set -- "$n" "$port"
    cat >"$d/conf/main.cf" <<EOF
queue_directory = $d/q
data_directory = $d/data
daemon_directory = $d/libexec
maillog_file = $d/maillog
maillog_file_prefixes = $d
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = ms.example.com
mydomain = example.com
mydestination =
EOF
    # pickup on a fifo (the master writes its wakeups there), smtpd on a
    # loopback TCP port: every endpoint type the master opens.
    cat >"$d/conf/master.cf" <<EOF
127.0.0.1:$2 inet n     -       n       -       2       smtpd
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
pickup    fifo  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
showq     unix  n       -       n       -       -       showq
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
flush     unix  n       -       n       1000?   0       flush
postlog   unix-dgram n  -       n       -       1       postlogd
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
crash     unix  -       -       n       -       -       error -Z
EOF
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

# ms_norm FILE - maillog lines made comparable.
ms_norm() {
    # "waiting for ... to terminate" comes or not by timing, on either side.
    # The master logs "terminating on signal" after it signalled postlogd:
    # the reference's postlogd is dead by then, ours writes the line.
    grep -v -e 'symlink leaves directory' -e 'waiting for the Postfix mail system to terminate' \
        -e 'master\[[0-9]*\]: terminating on signal' "$1" | sed -E \
        -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' \
        -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' \
        -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' \
        -e 's/delay=[0-9.]+, delays=[0-9.\/]+/delay=D, delays=D/' \
        -e 's/PID: [0-9]+/PID: N/' -e 's/ pid [0-9]+ / pid N /' \
        -e "s#$MS_T/(ref|ours)#INST#g" -e 's/ESMTP Postfix .*/ESMTP Postfix/' -e 's/client=localhost\[127.0.0.1\]:?[0-9]*/client=C/'
}

# ms_queue NAME - postqueue -p of an instance, normalized.
ms_queue() {
    "$REF_SBIN/postqueue" -c "$MS_T/$1/conf" -p 2>&1 | sed -E \
        -e 's/^[0-9A-F]{10,12}/QID/' -e 's/[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}/DATE/'
}

# ms_wait NAME COUNT - until COUNT messages are queued (10 s at most).
ms_wait() {
    local i
    for i in $(seq 1 50); do
        [ "$(find "$MS_T/$1/q/deferred" "$MS_T/$1/q/active" "$MS_T/$1/q/incoming" -type f 2>/dev/null | wc -l)" -ge "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

# ms_same NAME CMD... - run CMD with $I set to each instance, compare output.
ms_same() {
    local name=$1; shift
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local out=$MS_T/cases/$name
    mkdir -p "$out"
    I=ref; eval "$*" >"$out/ref" 2>&1; echo "status $?" >>"$out/ref"
    I=ours; eval "$*" >"$out/ours" 2>&1; echo "status $?" >>"$out/ours"
    compare_files "master-$name" "$out/ref" "$out/ours"
}

# ms_master_err NAME MASTER_CF_LINE ARGS... - a master that must fail.
ms_master_err() {
    local name=$1 line=$2; shift 2
    local d=$MS_T/err
    rm -rf "$d"; mkdir -p "$d/conf" "$d/q" "$d/data"; chown postfix "$d/data"
    sed -n '/^queue_directory/,$p' "$MS_T/ref/conf/main.cf" | sed -e "s#$MS_T/ref#$d#g" >"$d/conf/main.cf"
    printf '%s\n' "$line" >"$d/conf/master.cf"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
    REF_SBIN=$REF_LIBEXEC OUR_SBIN=$OUR_LIBEXEC compare "master-$name" master -c "$d/conf" "$@"
}

# ms_drain MODE - records that wait on the postlog socket when the
# instance goes away. postlogd (ours, under our master) is held with
# SIGSTOP while a burst is sent (as many records as the socket queue
# takes without waiting); then the instance ends - MODE term: "postfix
# stop" (SIGTERM to the master, which passes it on to its children);
# kill: the master dies of SIGKILL (postlogd sees the status channel
# close) - and postlogd is continued. It must write every record, in
# order, and exit. (The reference's postlogd dies of the SIGTERM, or
# leaves at once when the master is gone: it loses every one of them.)
ms_drain() {
    local mode=$1 d=$MS_T/drain-$1 m pl sent i
    case "master-postlogd-drain-$mode" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    inst_dirs "$d"
    mixed_daemon_dir "$d/libexec" master postlogd
    inst_main_cf "$d" "$d/libexec" "myhostname = drain.example.com"
    inst_master_cf "$d" postlog
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
    inst_start "$d/conf" >/dev/null 2>&1
    # postlogd runs once the master's first line is in the file.
    for i in $(seq 1 50); do grep -q 'daemon started' "$d/maillog" 2>/dev/null && break; sleep 0.1; done
    m=$(tr -d ' ' <"$d/q/pid/master.pid")
    pl=$(pgrep -P "$m")
    [ -n "$pl" ] && kill -STOP $pl
    sent=$(python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setblocking(False)
n = 0
while n < 100:
    try:
        s.sendto(("%s drain drain-test[1]: record %d" % (time.strftime("%b %d %H:%M:%S"), n)).encode(), sys.argv[1])
    except BlockingIOError:
        break
    n += 1
print(n)' "$d/q/public/postlog")
    # The master is gone (its end of the status channel closed) before
    # postlogd runs again.
    if [ "$mode" = term ]; then inst_stop "$d/conf"; else kill -KILL "$m"; fi
    for i in $(seq 1 50); do
        case $(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$m/status" 2>/dev/null) in ''|Z) break;; esac
        sleep 0.1
    done
    [ -n "$pl" ] && kill -CONT $pl
    for i in $(seq 1 50); do [ -n "$pl" ] && kill -0 $pl 2>/dev/null || break; sleep 0.1; done
    { echo "postlogd held, records queued"; [ "${sent:-0}" -gt 0 ] && seq 0 $((sent - 1)) | sed 's/^/record /'
      echo "postlogd exited"; } >"$d/expected"
    { [ -n "$pl" ] && [ "${sent:-0}" -gt 0 ] && echo "postlogd held, records queued"
      grep -o 'drain-test\[1\]: record [0-9]*' "$d/maillog" | sed 's/^.*: //'
      if [ -n "$pl" ] && kill -0 $pl 2>/dev/null; then kill -KILL $pl; else echo "postlogd exited"; fi; } >"$d/got"
    compare_files "master-postlogd-drain-$mode" "$d/expected" "$d/got"
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || [ ! -x "$OUR_LIBEXEC/master" ]; then
    echo "master: skipped: needs root, the postfix user and our daemons ($OUR_LIBEXEC)"
else
    ms_instance ref 10025
    ms_instance ours 10026 master postlogd
    ms_stop() {
        for ms_n in ref ours; do "$REF_SBIN/postfix" -c "$MS_T/$ms_n/conf" stop >/dev/null 2>&1; done
    }
    trap 'ms_stop; rm -rf "$COMPAT_TMP"' EXIT

    ms_same not-running-test '$MS_T/$I/libexec/master -t -c $MS_T/$I/conf'
    for ms_n in ref ours; do
        "$REF_SBIN/postfix" -c "$MS_T/$ms_n/conf" check >/dev/null 2>&1
        "$REF_SBIN/postfix" -c "$MS_T/$ms_n/conf" start >/dev/null 2>&1
    done
    ms_same start-sockets 'cd $MS_T/$I/q && ls public private && stat -c "%n %A %U" public/* private/*'
    ms_same running-test '$MS_T/$I/libexec/master -t -c $MS_T/$I/conf'
    ms_same pid-file 'wc -c <$MS_T/$I/q/pid/master.pid; kill -0 $(cat $MS_T/$I/q/pid/master.pid) && echo alive; wc -c <$MS_T/$I/data/master.lock'
    ms_same status '$REF_SBIN/postfix -c $MS_T/$I/conf status'
    ms_port() { [ "$I" = ref ] && echo 10025 || echo 10026; }
    ms_same inet-banner 'timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$(ms_port); head -c 16 <&3; echo; printf \"QUIT\\r\\n\" >&3"'
    for ms_n in ref ours; do
        for i in 1 2 3; do
            printf 'Subject: m%s\n\nbody %s\n' $i $i | "$REF_SBIN/sendmail" -C "$MS_T/$ms_n/conf" -f "s$i@example.com" "r$i@example.net"
        done
    done
    ms_same delivered 'ms_wait $I 3 && sleep 1 && ms_queue $I | sort'
    # A daemon that dies before it serves anyone throttles its service.
    ms_same throttle 'cd $MS_T/$I/q && python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"private/crash\"); s.settimeout(3); print(len(s.recv(10)))"; sleep 1; grep -c "bad command startup -- throttling" $MS_T/$I/maillog'
    ms_same double-start '$REF_SBIN/postfix -c $MS_T/$I/conf start'
    for ms_n in ref ours; do
        echo "extra     unix  -       -       n       -       -       error" >>"$MS_T/$ms_n/conf/master.cf"
        "$REF_SBIN/postfix" -c "$MS_T/$ms_n/conf" reload >/dev/null 2>&1
    done
    sleep 1
    ms_same reload-adds-service 'ls $MS_T/$I/q/private'
    ms_same flush 'MAIL_CONFIG=$MS_T/$I/conf $REF_SBIN/postqueue -f; sleep 1; ms_queue $I | sort'
    ms_same children 'ps --ppid $(cat $MS_T/$I/q/pid/master.pid) -o args= | awk "{print \$1}" | sort -u'
    for ms_n in ref ours; do "$REF_SBIN/postfix" -c "$MS_T/$ms_n/conf" stop >/dev/null 2>&1; done
    sleep 1
    ms_same stopped-test '$MS_T/$I/libexec/master -t -c $MS_T/$I/conf'
    # Deliveries run in parallel: the order of their lines is not fixed.
    ms_same maillog 'ms_norm $MS_T/$I/maillog | LC_ALL=C sort'
    ms_drain term
    ms_drain kill

    ms_master_err bad-transport "foo bar"
    ms_master_err missing-field "foo unix -"
    ms_master_err bad-bool "foo unix x - n - - error"
    ms_master_err bad-int "foo unix - - n x - error"
    ms_master_err private-inet "127.0.0.1:2525 inet y - n - - smtpd"
    ms_master_err no-command "foo unix - - n - -"
    ms_master_err unknown-port "127.0.0.1:nosuchport inet n - n - - smtpd"
    ms_master_err usage-extra "foo unix - - n - - error" -d extra
    ms_master_err usage-bad-option "foo unix - - n - - error" -x
    ms_master_err test-and-wait "foo unix - - n - - error" -t -w
    ms_master_err test-not-running "foo unix - - n - - error" -t
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
