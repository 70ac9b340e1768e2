# delivery.sh - mail from submission to its destination, ours against the
# reference: two private instances, one run entirely by the reference's
# programs and one entirely by ours (postfix, master, pickup, cleanup,
# qmgr, trivial-rewrite, bounce, local, virtual, smtp, pipe, discard,
# error, postlogd, sendmail, postdrop, postqueue). Both get the same
# messages, routed by transport_maps and the address classes to: local
# aliases (a file and a command), virtual mailboxes (Maildir and mbox),
# a pipe(8) service, smtp(8) to an smtp-sink on loopback, discard, error
# (the bounce comes back to the sender's alias file) and retry (deferred).
# Compared: each destination's contents, the maillog (times, pids, queue
# ids, delays normalized), and the queue left behind. One pipe(8) agent is
# killed with SIGKILL in mid-delivery: the message stays queued and is
# delivered after postqueue -f (the orphaned command's copy arrives too,
# as with the reference).
#
# Needs root, the postfix and nobody users, and /usr/sbin/smtp-sink;
# skipped otherwise.

DL_T=$COMPAT_TMP/delivery
mkdir -p "$DL_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$DL_T"

dl_sbin() { if [ "$1" = ref ]; then echo "$REF_SBIN"; else echo "$OUR_SBIN"; fi; }
dl_port() { if [ "$1" = ref ]; then echo 42525; else echo 42526; fi; }

dl_instance() {
    local s=$1 d=$DL_T/$1
    rm -rf "$d"; mkdir -p "$d/conf" "$d/q" "$d/data" "$d/vmail" "$d/files" "$d/sink" "$d/slow"
    chown postfix "$d/data"
    chown nobody "$d/vmail" "$d/files" "$d/sink" "$d/slow"
    cat >"$d/conf/main.cf" <<EOF
queue_directory = $d/q
data_directory = $d/data
daemon_directory = $([ "$s" = ref ] && echo "$REF_LIBEXEC" || echo "$OUR_LIBEXEC")
command_directory = $(dl_sbin "$s")
maillog_file = $d/maillog
maillog_file_prefixes = $d
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.example.com
mydomain = example.com
myorigin = example.com
mydestination = localhost, example.com
alias_maps = hash:$d/conf/aliases
alias_database = hash:$d/conf/aliases
local_recipient_maps =
default_privs = nobody
transport_maps = hash:$d/conf/transport
virtual_mailbox_domains = virt.example
virtual_mailbox_base = $d/vmail
virtual_mailbox_maps = hash:$d/conf/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 1
default_transport = error:no default route in this test
smtp_connection_cache_on_demand = no
smtp_tls_security_level = none
delay_logging_resolution_limit = 0
notify_classes =
service_throttle_time = 1s
EOF
    cat >"$d/conf/aliases" <<EOF
postmaster: $d/files/postmaster
sender: $d/files/sender
filer: $d/files/filer
piper: |"cat >> $d/files/piper"
both: filer, piper
EOF
    cat >"$d/conf/transport" <<EOF
discard.example discard:silently
error.example error:5.1.1 no such place
retry.example retry:4.4.1 try later
pipe.example recorder:
slow.example slowpipe:
sink.example smtp:[127.0.0.1]:$(dl_port "$s")
EOF
    cat >"$d/conf/vmailbox" <<EOF
maildir@virt.example maildir/
mbox@virt.example mbox
EOF
    cat >"$d/files/recorder" <<EOF
#!/bin/sh
{ echo "argv: \$*"; cat; echo "--"; } >> $d/files/recorded
EOF
    chmod 755 "$d/files/recorder"
    # slowpipe: takes the whole message, says so (a marker file), rests
    # 1 s, then appends it to files/slowpiped.
    cat >"$d/slow/slowpipe" <<EOF
#!/bin/sh
cat >$d/slow/msg.\$\$
: >$d/slow/started
sleep 1
cat $d/slow/msg.\$\$ >>$d/files/slowpiped
rm -f $d/slow/msg.\$\$
EOF
    chmod 755 "$d/slow/slowpipe"
    cat >"$d/conf/master.cf" <<EOF
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
showq     unix  n       -       n       -       -       showq
smtp      unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
postlog   unix-dgram n  -       n       -       1       postlogd
recorder  unix  -       n       n       -       -       pipe
  flags=FR user=nobody argv=$d/files/recorder \${sender} \${recipient} \${nexthop} \${user} \${domain}
slowpipe  unix  -       n       n       -       -       pipe
  flags=F user=nobody argv=$d/slow/slowpipe
EOF
    "$(dl_sbin "$s")/postmap" -c "$d/conf" "$d/conf/transport" "$d/conf/vmailbox"
    "$(dl_sbin "$s")/postalias" -c "$d/conf" "$d/conf/aliases"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

dl_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e "s,sink/[0-9]+\\.[0-9a-f]+,sink/FILE," -e "s/\\b(QID|[0-9]+)\\.V[0-9a-f]+I[0-9a-f]+M[0-9]+\\.[A-Za-z0-9.-]+/MAILDIR-NAME/g" \
        -e "s/with ESMTP id [0-9a-f]+;/with ESMTP id SINK;/" -e "s/delay=[0-9.]+, delays=[0-9.\/]+/delay=D, delays=D/" -e 's/ pid [0-9]+ / pid N /' \
        -e 's/^(From [^ ]+ +)[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$/\1DATE/' \
        -e 's/(; |^\t|Date: |Arrival-Date: )[A-Z][a-z]{2}, [ 0-9]?[0-9] [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}( \([A-Z]+\))?/\1DATE/' \
        -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' -e 's/QID\.[0-9]+\/mx\.example\.com/BOUNDARY/g' \
        -e "s#$DL_T/(ref|ours)#INST#g" -e "s#$REF_LIBEXEC/#DAEMONS/#g; s#$OUR_LIBEXEC/#DAEMONS/#g" \
        -e "s/\\[127\\.0\\.0\\.1\\]:($(dl_port ref)|$(dl_port ours))/[127.0.0.1]:PORT/g" "$@"
}

# dl_both NAME CMD - run CMD with $S = ref, then ours; compare the outputs.
dl_both() { local name=$1; shift; sides_case delivery "$name" "$DL_T" ref ours "$@"; }

# dl_settle SIDE - wait until only deferred mail is left in the queue.
dl_settle() { queue_settled "$DL_T/$1/q" 100; }

dl_files() {
    local f
    for f in $(cd "$DL_T/$S" && find files vmail sink -type f ! -name recorder | LC_ALL=C sort); do
        echo "== $(echo "$f" | dl_norm)"
        dl_norm "$DL_T/$S/$f"
    done
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 || [ ! -x /usr/sbin/smtp-sink ] \
    || [ ! -x "$OUR_SBIN/postfix" ] || [ ! -x "$OUR_LIBEXEC/qmgr" ]; then
    echo "delivery: skipped: needs root, the postfix and nobody users, smtp-sink, our commands and daemons"
else
    dl_pids=
    dl_stop() {
        local s; for s in ref ours; do "$(dl_sbin $s)/postfix" -c "$DL_T/$s/conf" stop >/dev/null 2>&1; done
        [ -n "$dl_pids" ] && kill $dl_pids 2>/dev/null; return 0
    }
    trap 'dl_stop; rm -rf "$COMPAT_TMP"' EXIT
    for dl_s in ref ours; do
        dl_instance $dl_s
        (cd "$DL_T/$dl_s/sink" && exec /usr/sbin/smtp-sink -u nobody -d "$DL_T/$dl_s/sink/%M." 127.0.0.1:$(dl_port $dl_s) 10) &
        dl_pids="$dl_pids $!"
    done
    sleep 0.5
    dl_both start '$(dl_sbin $S)/postfix -c $DL_T/$S/conf start'
    # One message at a time: files shared by several deliveries fill in order.
    dl_send() {
        local s
        for s in ref ours; do "$(dl_sbin $s)/sendmail" -C "$DL_T/$s/conf" "$@" <"$DL_T/msg"; done
        for s in ref ours; do dl_settle $s; done
    }
    printf 'Subject: to a file\n\nline one\nFrom the start\n' >"$DL_T/msg"; dl_send -f sender@example.com filer
    printf 'Subject: to both\n\nbody\n' >"$DL_T/msg"; dl_send -f sender@example.com both@localhost
    printf 'Subject: virtual\n\nhello maildir\n' >"$DL_T/msg"; dl_send -f sender@example.com maildir@virt.example mbox@virt.example
    printf 'Subject: piped\n\nto a pipe\n' >"$DL_T/msg"; dl_send -f sender@example.com someone+ext@pipe.example
    printf 'Subject: over smtp\n\n.leading dot\nbody\n' >"$DL_T/msg"; dl_send -f sender@example.com a@sink.example b@sink.example
    printf 'Subject: discarded\n\nbody\n' >"$DL_T/msg"; dl_send -f sender@example.com x@discard.example
    printf 'Subject: bounced\n\nbody\n' >"$DL_T/msg"; dl_send -f sender@example.com y@error.example
    printf 'Subject: deferred\n\nbody\n' >"$DL_T/msg"; dl_send -f sender@example.com z@retry.example
    printf 'Subject: unknown\n\nbody\n' >"$DL_T/msg"; dl_send -f sender@example.com nosuchuser@localhost
    # SIGKILL of a delivery agent mid-delivery: pipe(8) runs slowpipe, which
    # has read the message; the agent is killed while it waits for the
    # command. The message must be deferred, not lost, and delivered when
    # the queue is flushed; the orphaned command still finishes its copy.
    dl_kill_agent() {
        local d=$DL_T/$S i pid agent
        rm -f "$d/slow/started"
        printf 'Subject: agent killed\n\nbody\n' | "$(dl_sbin $S)/sendmail" -C "$d/conf" -f sender@example.com k@slow.example
        for i in $(seq 1 400); do [ -f "$d/slow/started" ] && break; sleep 0.05; done
        pid=$(pgrep -f "^/bin/sh $d/slow/slowpipe" | head -1)
        agent=$( [ -n "$pid" ] && ps -o ppid= -p "$pid" | tr -d ' ')
        [ -n "$agent" ] && kill -KILL "$agent" && echo "agent killed"
        # qmgr logs nothing for the recipient (the agent never answered):
        # the message just goes back to the deferred queue.
        for i in $(seq 1 100); do [ -z "$(find "$d/q/active" "$d/q/incoming" -type f)" ] && break; sleep 0.05; done
        echo "queued after the kill: $("$(dl_sbin $S)/postqueue" -c "$d/conf" -p | grep -c 'k@slow.example')"
        sleep 1.2
        "$(dl_sbin $S)/postqueue" -c "$d/conf" -f
        for i in $(seq 1 100); do grep -a -q "to=<k@slow.example>.*status=sent" "$d/maillog" && break; sleep 0.1; done
        sleep 0.5
        echo "queued after the flush: $("$(dl_sbin $S)/postqueue" -c "$d/conf" -p | grep -c 'k@slow.example')"
        echo "copies delivered: $(grep -c '^Subject: agent killed' "$d/files/slowpiped")"
        grep -a -e "k@slow.example" -e "killed by signal" -e "bad command startup" "$d/maillog" | dl_norm
    }
    dl_both agent-sigkill 'dl_kill_agent'
    dl_both settled 'dl_settle $S && sleep 1 && dl_settle $S && echo ok'
    dl_both files 'dl_files'
    dl_both queue '$(dl_sbin $S)/postqueue -c $DL_T/$S/conf -p | dl_norm | sed -E "s/^QID +[0-9]+ .*/QID SIZE DATE/" | LC_ALL=C sort'
    dl_both stop '$(dl_sbin $S)/postfix -c $DL_T/$S/conf stop; sleep 1'
    # The master logs "terminating on signal" after it signalled postlogd:
    # the reference's postlogd is dead by then, ours writes the line.
    dl_both maillog 'dl_norm $DL_T/$S/maillog | grep -v -e "symlink leaves directory" -e "waiting for the Postfix mail system to terminate" \
        -e "postfix/master\[[A-Z0-9]*\]: terminating on signal" | LC_ALL=C sort'
    dl_stop
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
