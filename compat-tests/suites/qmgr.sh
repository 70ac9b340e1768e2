# qmgr.sh - our qmgr(8) inside the reference mail system: two private
# instances run by the reference's master and daemons, one with our qmgr
# swapped into its daemon_directory. Both get the same mail, submitted
# with the reference's sendmail: to a local alias (a file), to discard:,
# to error: (the bounce comes back to the sender's alias file), to
# retry: (deferred, with the file's time stamp moved ahead by
# minimal_backoff_time), to smtp-sink over smtp(8) with a relayhost on
# loopback, to a destination that refuses connections (suspended: the
# next message is deferred through retry), null-sender mail that expires
# at once (bounce_queue_lifetime = 0), to a transport in defer_transports (deferred, then delivered
# by postqueue -f), and to a transport missing from master.cf (the
# transport is suspended: deferred through retry). Compared: the
# destinations' contents, the queue left behind, the deferred files'
# backoff, the delay warnings (delay_warning_time = 1s) and the maillog
# (times, pids, queue IDs, delays masked).
# transport_rate_delay and destination_rate_delay: the deliveries of each
# rate-limited transport (pipe to /bin/true) are spaced out in the log.
# The preemptive scheduler: small messages overtake a big one on a slow
# transport in the reference's order (qm_preempt).
# Then our qmgr is killed with SIGKILL while mail flows: the master
# starts a new one and no message is lost.
# Last, the in-memory recipient limits (qm_rl_*, below): a message read a
# few recipients at a time, transport_recipient_limit and
# transport_extra_recipient_limit, against our qmgr and our whole set.
#
# Needs root, the postfix and nobody users and /usr/sbin/smtp-sink.

QM_T=$COMPAT_TMP/qmgr
mkdir -p "$QM_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$QM_T"

qm_port() { if [ "$1" = ref ]; then echo 42625; else echo 42626; fi; }

qm_instance() {
    local s=$1 d=$QM_T/$1
    rm -rf "$d"; mkdir -p "$d/conf" "$d/q" "$d/data" "$d/files" "$d/sink" "$d/slow"
    chown postfix "$d/data"
    chown nobody "$d/files" "$d/sink" "$d/slow"
    # The slow transport: one delivery at a time, each logs its recipient
    # once the file "go" exists.
    printf '#!/bin/sh\necho "$1" >>%s/started\nwhile [ ! -e %s/go ]; do sleep 0.05; done\necho "$1" >>%s/order\n' \
        "$d/slow" "$d/slow" "$d/slow" >"$d/slow.sh"
    chmod 755 "$d/slow.sh"
    if [ "$s" = ref ]; then
        ln -s "$REF_LIBEXEC" "$d/libexec"
    else
        mixed_daemon_dir "$d/libexec" qmgr
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
myhostname = mx.example.com
mydomain = example.com
myorigin = example.com
mydestination = localhost, example.com
alias_maps = hash:$d/conf/aliases
alias_database = hash:$d/conf/aliases
local_recipient_maps =
default_privs = nobody
transport_maps = hash:$d/conf/transport
relayhost = [127.0.0.1]:$(qm_port "$s")
smtp_connection_cache_on_demand = no
smtp_tls_security_level = none
delay_logging_resolution_limit = 0
notify_classes =
defer_transports = held
minimal_backoff_time = 300s
maximal_backoff_time = 4000s
bounce_queue_lifetime = 0
delay_warning_time = 1s
ratex_transport_rate_delay = 1s
ratedest_destination_rate_delay = 1s
slow_destination_recipient_limit = 1
EOF
    cat >"$d/conf/aliases" <<EOF
postmaster: $d/files/postmaster
sender: $d/files/sender
filer: $d/files/filer
EOF
    cat >"$d/conf/transport" <<EOF
discard.example discard:silently
error.example error:5.1.1 no such place
retry.example retry:4.4.1 try later
held.example held:[127.0.0.1]:$(qm_port "$s")
nowhere.example nosuchtransport:
dead.example smtp:[127.0.0.1]:42699
r1.example ratex:
r2.example ratex:
r3.example ratex:
rd.example ratedest:
big.example slow:
small.example slow:
EOF
    cat >"$d/conf/master.cf" <<EOF
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
showq     unix  n       -       n       -       -       showq
flush     unix  n       -       n       1000?   0       flush
smtp      unix  -       -       n       -       -       smtp
held      unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
postlog   unix-dgram n  -       n       -       1       postlogd
ratex     unix  -       n       n       -       -       pipe
  user=nobody argv=/bin/true
ratedest  unix  -       n       n       -       -       pipe
  user=nobody argv=/bin/true
slow      unix  -       n       n       -       1       pipe
  user=nobody argv=$d/slow.sh \${recipient}
EOF
    "$REF_SBIN/postmap" -c "$d/conf" "$d/conf/transport"
    "$REF_SBIN/postalias" -c "$d/conf" "$d/conf/aliases"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

qm_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e "s,sink/[0-9]+\\.[0-9a-f]+,sink/FILE," \
        -e "s/with ESMTP id [0-9a-f]+;/with ESMTP id SINK;/" -e "s/delay=[0-9.]+, delays=[0-9.\/]+/delay=D, delays=D/" \
        -e 's/^(From [^ ]+ +)[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$/\1DATE/' \
        -e 's/(; |^\t|Date: |Arrival-Date: |Will-Retry-Until: )[A-Z][a-z]{2}, [ 0-9]?[0-9] [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}( \([A-Z]+\))?/\1DATE/' \
        -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' -e 's/QID\.[0-9]+\/mx\.example\.com/BOUNDARY/g' \
        -e "s#$QM_T/(ref|ours)#INST#g" -e "s#$REF_LIBEXEC/#DAEMONS/#g; s#$OUR_LIBEXEC/#DAEMONS/#g" \
        -e "s/127\\.0\\.0\\.1\\]:($(qm_port ref)|$(qm_port ours))/127.0.0.1]:PORT/g" \
        -e "s/127\\.0\\.0\\.1\\]:($(qm_port ref)|$(qm_port ours))/127.0.0.1]:PORT/g" "$@"
}

# qm_both NAME CMD - run CMD with $S = ref, then ours; compare the outputs.
qm_both() {
    local name=$1; shift
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local out=$QM_T/cases/$name
    mkdir -p "$out"
    S=ref; eval "$*" >"$out/ref" 2>&1; echo "status $?" >>"$out/ref"
    S=ours; eval "$*" >"$out/ours" 2>&1; echo "status $?" >>"$out/ours"
    compare_files "qmgr-$name" "$out/ref" "$out/ours"
}

# qm_settle SIDE - wait until only deferred (or no) mail is left.
qm_settle() {
    local i
    for i in $(seq 1 150); do
        [ -z "$(find "$QM_T/$1/q/maildrop" "$QM_T/$1/q/incoming" "$QM_T/$1/q/active" -type f 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    return 1
}

# qm_files - the local files, then each message smtp-sink received, in
# the order of their normalized contents (the sink's file names are random).
qm_files() {
    local f
    for f in $(cd "$QM_T/$S" && find files -type f | LC_ALL=C sort); do
        echo "== $f"
        qm_norm "$QM_T/$S/$f"
    done
    rm -rf "$QM_T/$S.sink"; mkdir -p "$QM_T/$S.sink"
    for f in "$QM_T/$S"/sink/*; do
        [ -f "$f" ] || continue
        qm_norm "$f" >"$QM_T/$S.sink/tmp"
        mv "$QM_T/$S.sink/tmp" "$QM_T/$S.sink/$(md5sum <"$QM_T/$S.sink/tmp" | cut -c1-32)"
    done
    for f in $(ls "$QM_T/$S.sink" | LC_ALL=C sort); do
        echo "== sink message"
        cat "$QM_T/$S.sink/$f"
    done
}

# qm_backoff - each deferred file's time stamp minus its change time,
# rounded to 10 s (the backoff qmgr set with utime()).
qm_backoff() {
    local f
    find "$QM_T/$S/q/deferred" -type f | while read -r f; do
        echo "backoff $(( ( $(stat -c %Y "$f") - $(stat -c %Z "$f") + 5 ) / 10 * 10 ))"
    done | LC_ALL=C sort
}

qm_queue() {
    "$REF_SBIN/postqueue" -c "$QM_T/$S/conf" -p | qm_norm | sed -E "s/^QID\*? +[0-9]+ .*/QID SIZE DATE/" | LC_ALL=C sort
}

# qm_log - the maillog, sorted. Left out: lines of the reference's own
# postfix-script, which stops both instances (its "stopping" line races
# with the SIGTERM that ends postlogd, on either side).
qm_log() {
    qm_norm "$QM_T/$S/maillog" | grep -v -e "symlink leaves directory" -e "waiting for the Postfix mail system to terminate" \
        -e "stopping the Postfix mail system" -e "daemon started" | LC_ALL=C sort
}

# qm_rate_spans - for the transport_rate_delay deliveries (r1-r3.example)
# and the destination_rate_delay ones (rd.example): how many were logged,
# and whether their log times span 2 to 6 seconds (1 s apart each, more or
# less the delivery time).
qm_rate_spans() {
    local pat
    for pat in '@r[123]\.example>' '@rd\.example>'; do
        grep -a "status=sent" "$QM_T/$S/maillog" | grep -a -e "to=<[a-z]*$pat" \
            | awk -v pat="$pat" '{ split($3, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
                if (n == 0 || s < lo) lo = s; if (n == 0 || s > hi) hi = s; n++ }
                END { span = hi - lo; printf "%s: %d deliveries, span %s\n", pat, n, (span >= 2 && span <= 6) ? "ok" : "WRONG (" span " s)" }'
    done
}

# qm_preempt - the preemptive scheduler: a message to 20 recipients of the
# slow transport (one agent, one recipient per delivery) is being delivered
# when three one-recipient messages arrive; once all four are in the
# active queue, the agent is let go. The reference's order: after one
# delivery of the big message a small one goes ahead, then one every
# transport_delivery_slot_cost (5) deliveries of the big one.
qm_preempt() {
    local d=$QM_T/$S i n n0
    printf 'Subject: big\n\nbody\n' >"$QM_T/msg.big"
    "$REF_SBIN/sendmail" -C "$d/conf" -f sender@example.com $(for i in $(seq -w 1 20); do echo "b$i@big.example"; done) <"$QM_T/msg.big"
    for i in $(seq 1 100); do [ -s "$d/slow/started" ] && break; sleep 0.1; done
    printf 'Subject: small\n\nbody\n' >"$QM_T/msg.small"
    n0=$(grep -c 'nrcpt=1 (queue active)' "$d/maillog" 2>/dev/null)
    for i in 1 2 3; do "$REF_SBIN/sendmail" -C "$d/conf" -f sender@example.com "s$i@small.example" <"$QM_T/msg.small"; done
    for i in $(seq 1 100); do
        n=$(grep -c 'nrcpt=1 (queue active)' "$d/maillog" 2>/dev/null)
        [ "${n:-0}" -ge $(( ${n0:-0} + 3 )) ] && [ -z "$(find "$d/q/incoming" "$d/q/maildrop" -type f)" ] && break
        sleep 0.1
    done
    sleep 0.3
    touch "$d/slow/go"
    for i in $(seq 1 200); do [ "$(cat "$d/slow/order" 2>/dev/null | wc -l)" = 23 ] && break; sleep 0.1; done
    cat "$d/slow/order"
}

# qm_send ARGS... - the same message to both instances, one at a time.
qm_send() {
    local s
    for s in ref ours; do "$REF_SBIN/sendmail" -C "$QM_T/$s/conf" "$@" <"$QM_T/msg"; done
    for s in ref ours; do qm_settle $s; done
}

# The in-memory recipient limits (qm_rl_*): three more instances with a
# tiny recipient budget (qmgr_message_recipient_limit = 5, so a message is
# read 5 recipients at a time): the reference, the reference with our qmgr
# and our whole set of daemons (our master, pipe and smtp). Pipe transports
# (one agent each) log each delivery's recipients, one line a delivery:
#   wide: 3 recipients a delivery, the default transport recipient limit:
#       the rest of the message is read at the first selection and its
#       first recipients join the entry that is still waiting;
#   tiny: tiny_recipient_limit = 6: after the first 5, 7 recipients at a
#       time (the transport's 6 and the message's own 1), the next ones
#       read when the last ones are done;
#   refill: refill_recipient_limit = 4, refill_recipient_refill_limit = 2:
#       the next recipients are read as soon as two slots are free;
#   extra, noextra: 1 recipient a delivery, extra_recipient_limit 6 or 0:
#       a three-recipient message, read one recipient at a time, preempts a
#       30-recipient one; with the extra slots it reads its other two at once;
#   hold (1 recipient a delivery) keeps 15 destinations in memory while a
#       dead destination is forgotten (qm_rl_forget).
# Two more instances run oqmgr (the reference's, and ours) for the wide and
# extra cases. The recipients are given in reverse order, so that each
# batch's sorting shows where the batches begin and end. Compared: each transport's
# deliveries in order, and the to=/status= sequence of the maillog.
qm_rl_instance() {
    local s=$1 d=$QM_T/rl-$1 t daemons
    inst_dirs "$d"
    mkdir -p "$d/pipe"; chown nobody "$d/pipe"
    printf '#!/bin/sh\necho "$*" >>%s/started\nwhile [ ! -e %s/go ]; do sleep 0.05; done\necho "$*" >>%s/order-$1\n' \
        "$d/pipe" "$d/pipe" "$d/pipe" >"$d/pipe.sh"
    chmod 755 "$d/pipe.sh"
    case $s in
        ref|oref) daemons=$REF_LIBEXEC ;;
        ours) mixed_daemon_dir "$d/libexec" qmgr; daemons=$d/libexec ;;
        oours) mixed_daemon_dir "$d/libexec" oqmgr; daemons=$d/libexec ;;
        all) daemons=$OUR_LIBEXEC ;;
    esac
    inst_main_cf "$d" "$daemons" "myhostname = mx.example.com" "mydomain = example.com" "myorigin = example.com" \
        "mydestination =" "default_privs = nobody" "transport_maps = texthash:$d/conf/transport" "notify_classes =" \
        "qmgr_message_active_limit = 5" "qmgr_message_recipient_limit = 5" "qmgr_message_recipient_minimum = 1" \
        "default_recipient_refill_delay = 100s" \
        "wide_destination_recipient_limit = 3" "tiny_destination_recipient_limit = 3" "tiny_recipient_limit = 6" \
        "extra_destination_recipient_limit = 1" "extra_recipient_limit = 4" "extra_extra_recipient_limit = 6" \
        "noextra_destination_recipient_limit = 1" "noextra_recipient_limit = 4" "noextra_extra_recipient_limit = 0" \
        "refill_destination_recipient_limit = 3" "refill_recipient_limit = 4" "refill_recipient_refill_limit = 2" \
        "hold_destination_recipient_limit = 1" "tempfail_initial_destination_concurrency = 1"
    inst_master_cf "$d" pickup cleanup qmgr rewrite bounce defer trace showq error retry postlog
    for t in wide tiny refill extra noextra hold; do
        printf '%-9s unix  -       n       n       -       1       pipe\n  user=nobody argv=%s %s ${recipient}\n' "$t" "$d/pipe.sh" "$t"
        echo "$t.example $t:"
    done >"$d/conf/transport.tmp"
    echo 'tempfail  unix  -       -       n       -       -       smtp' >>"$d/conf/transport.tmp"
    printf 'tempfail.example tempfail:[127.0.0.1]:42696\nctl.example tempfail:[127.0.0.1]:42697\n' >>"$d/conf/transport.tmp"
    grep -v '\.example ' "$d/conf/transport.tmp" >>"$d/conf/master.cf"
    grep '\.example ' "$d/conf/transport.tmp" >"$d/conf/transport"
    case $s in oref|oours) sed -i -E 's/^(qmgr .*) qmgr$/\1 oqmgr/' "$d/conf/master.cf" ;; esac
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

qm_rl_sbin() { if [ "$1" = all ]; then echo "$OUR_SBIN"; else echo "$REF_SBIN"; fi; }

# qm_rl_send SIDE PREFIX N DOMAIN - one message to PREFIXN..PREFIX1@DOMAIN.
qm_rl_send() {
    local i
    printf 'Subject: %s\n\nbody\n' "$2" | "$REF_SBIN/sendmail" -C "$QM_T/rl-$1/conf" -f sender@example.com \
        $(for i in $(seq -w "$3" -1 1); do echo "$2$i@$4"; done)
}

# qm_rl_wait SIDE FILE LINES - wait until FILE (of the pipe) has LINES lines.
qm_rl_wait() {
    local i
    for i in $(seq 1 200); do
        [ "$(cat "$QM_T/rl-$1/pipe/$2" 2>/dev/null | wc -l)" -ge "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

# qm_rl_deliveries N TRANSPORT - N recipients in lines of TRANSPORT's order file.
qm_rl_deliveries() {
    local d=$QM_T/rl-$S
    touch "$d/pipe/go"
    qm_rl_send $S w 30 "$2.example"
    for i in $(seq 1 200); do [ "$(grep -o @ "$d/pipe/order-$2" 2>/dev/null | wc -l)" -ge "$1" ] && break; sleep 0.05; done
    queue_settled "$d/q"
    cat "$d/pipe/order-$2"
}

# qm_rl_preempt TRANSPORT - the big message is held in its first delivery
# until the small one is in the active queue.
qm_rl_preempt() {
    local d=$QM_T/rl-$S i n0 n
    rm -f "$d/pipe/go" "$d/pipe/started"
    qm_rl_send $S a 30 "$1.example"
    qm_rl_wait $S started 1
    n0=$(grep -c 'nrcpt=3 (queue active)' "$d/maillog" 2>/dev/null)
    qm_rl_send $S b 3 "$1.example"
    for i in $(seq 1 100); do
        n=$(grep -c 'nrcpt=3 (queue active)' "$d/maillog" 2>/dev/null)
        [ "${n:-0}" -gt "${n0:-0}" ] && [ -z "$(find "$d/q/incoming" "$d/q/maildrop" -type f)" ] && break
        sleep 0.05
    done
    sleep 0.3
    touch "$d/pipe/go"
    for i in $(seq 1 200); do [ "$(cat "$d/pipe/order-$1" 2>/dev/null | wc -l)" -ge 33 ] && break; sleep 0.05; done
    queue_settled "$d/q"
    cat "$d/pipe/order-$1"
}

# qm_rl_forget - a dead destination with nothing left is forgotten when
# more than 2 * qmgr_message_recipient_limit (10) destinations are in
# memory. First with few destinations: a delivery to ctl.example is
# deferred (nothing listens on its port; the destination dies, as its
# window is 1), and the next message
# for it is deferred by the queue manager. Then 15 recipients of the held
# transport wait, each its own destination, and the same happens with
# tempfail.example: now the next message is tried again.
qm_rl_forget() {
    local d=$QM_T/rl-$S i n dom
    rm -f "$d/pipe/go" "$d/pipe/started"
    for dom in ctl tempfail; do
        if [ $dom = tempfail ]; then
            qm_rl_send $S h 15 hold.example
            qm_rl_wait $S started 1
        fi
        for i in 1 2; do
            qm_rl_send $S $dom$i 1 $dom.example
            for n in $(seq 1 100); do grep -q "to=<$dom${i}1@$dom.example>.*status=" "$d/maillog" 2>/dev/null && break; sleep 0.05; done
        done
    done
    touch "$d/pipe/go"
    queue_settled "$d/q"
    sed -n -E 's/.*: (to=<[^>]*(ctl|tempfail)\.example>).*, (status=.*)/\1 \3/p' "$d/maillog"
}

# qm_rl_log - the delivery outcomes and the queue manager's warnings (a
# destination holding more than a fifth of qmgr_message_active_limit
# entries) in log order.
qm_rl_log() {
    sleep 0.5
    sed -n -E 's/.*: (to=<[^>]*>).*, (status=[a-z]+).*/\1 \2/p; s/.*: (from=<[^>]*>, size=[0-9]+, nrcpt=[0-9]+ .*)/\1/p
        s/.* postfix\/qmgr\[[0-9]+\]: (warning: .*)/\1/p' "$QM_T/rl-$S/maillog"
}

qm_rl_case() {
    local name=$1; shift
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local out=$QM_T/cases/rl-$name s
    mkdir -p "$out"
    for s in ref ours all; do
        [ "$s" = all ] && [ -z "$QM_RL_ALL" ] && continue
        S=$s; eval "$*" >"$out/$s" 2>&1; echo "status $?" >>"$out/$s"
    done
    compare_files "qmgr-rcpt-limit-$name" "$out/ref" "$out/ours"
    [ -n "$QM_RL_ALL" ] && compare_files "qmgr-rcpt-limit-$name-all" "$out/ref" "$out/all"
    return 0
}

qm_rl_run() {
    local s pids=
    QM_RL_ALL=
    [ -x "$OUR_SBIN/postfix" ] && [ -x "$OUR_LIBEXEC/master" ] && [ -x "$OUR_LIBEXEC/pipe" ] && QM_RL_ALL=1
    QM_RL_O=
    [ -x "$OUR_LIBEXEC/oqmgr" ] && QM_RL_O=1
    for s in ref ours ${QM_RL_ALL:+all} ${QM_RL_O:+oref oours}; do
        qm_rl_instance $s
        inst_start "$QM_T/rl-$s/conf" "$(qm_rl_sbin $s)" >/dev/null 2>&1 &
        pids="$pids $!"
    done
    wait $pids
    qm_rl_case wide 'qm_rl_deliveries 30 wide'
    qm_rl_case tiny 'qm_rl_deliveries 30 tiny'
    qm_rl_case refill 'qm_rl_deliveries 30 refill'
    qm_rl_case extra 'qm_rl_preempt extra'
    qm_rl_case noextra 'qm_rl_preempt noextra'
    qm_rl_case forget 'qm_rl_forget'
    qm_rl_case maillog 'qm_rl_log'
    # oqmgr: no recipient slots; a message is read qmgr_message_recipient_limit
    # recipients at a time, and the small one waits in the incoming queue
    # while the big one has that many in memory.
    if [ -n "$QM_RL_O" ]; then
        sides_case qmgr oqmgr-rcpt-limit-wide "$QM_T" oref oours 'qm_rl_deliveries 30 wide'
        sides_case qmgr oqmgr-rcpt-limit-extra "$QM_T" oref oours 'qm_rl_preempt extra'
        sides_case qmgr oqmgr-rcpt-limit-maillog "$QM_T" oref oours 'qm_rl_log'
    fi
    qm_rl_stop
}

qm_rl_stop() {
    local s
    for s in ref ours all oref oours; do [ -f "$QM_T/rl-$s/conf/main.cf" ] && inst_stop "$QM_T/rl-$s/conf"; done
    return 0
}

if [ -n "${QM_SETUP_ONLY:-}" ]; then
    : # sourced for its functions (debugging)
elif [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 || [ ! -x /usr/sbin/smtp-sink ] \
    || [ ! -x "$OUR_LIBEXEC/qmgr" ]; then
    echo "qmgr: skipped: needs root, the postfix and nobody users, smtp-sink and our qmgr"
else
    qm_pids=
    qm_stop() {
        local s; for s in ref ours; do "$REF_SBIN/postfix" -c "$QM_T/$s/conf" stop >/dev/null 2>&1; done
        [ -n "$qm_pids" ] && kill $qm_pids 2>/dev/null; qm_pids=; qm_rl_stop; return 0
    }
    trap 'qm_stop; rm -rf "$COMPAT_TMP"' EXIT
    for qm_s in ref ours; do
        qm_instance $qm_s
        (cd "$QM_T/$qm_s/sink" && exec /usr/sbin/smtp-sink -u nobody -d "$QM_T/$qm_s/sink/%M." 127.0.0.1:$(qm_port $qm_s) 10) &
        qm_pids="$qm_pids $!"
    done
    sleep 0.5
    qm_both start '$REF_SBIN/postfix -c $QM_T/$S/conf start'
    printf 'Subject: to a file\n\nline one\n' >"$QM_T/msg"; qm_send -f sender@example.com filer
    printf 'Subject: two local\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com filer@localhost sender
    printf 'Subject: over smtp\n\n.leading dot\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com a@remote.example b@remote.example c@other.example
    printf 'Subject: discarded\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com x@discard.example
    printf 'Subject: bounced\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com y@error.example
    printf 'Subject: mixed\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com filer y2@error.example d@remote.example
    printf 'Subject: deferred\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com z@retry.example
    printf 'Subject: held transport\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com h@held.example
    printf 'Subject: no transport\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com n@nowhere.example
    printf 'Subject: null sender\n\nbody\n' >"$QM_T/msg"; qm_send -f '' filer
    # Null sender, deferred: bounce_queue_lifetime = 0 returns it at once.
    printf 'Subject: expires\n\nbody\n' >"$QM_T/msg"; qm_send -f '' w@retry.example
    # A destination that refuses connections dies after one failed
    # cohort; the next message for it is deferred by qmgr through retry.
    printf 'Subject: dead 1\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com d1@dead.example d2@dead.example
    printf 'Subject: dead 2\n\nbody\n' >"$QM_T/msg"; qm_send -f sender@example.com d3@dead.example
    # Rate delays: three deliveries by a transport with a 1 s
    # transport_rate_delay (three destinations), three to one destination
    # of a transport with a 1 s destination_rate_delay. Sent to both
    # instances at once; each set must span at least 2 s in the log.
    printf 'Subject: rate\n\nbody\n' >"$QM_T/msg"
    for qm_s in ref ours; do
        for qm_r in a@r1.example b@r2.example c@r3.example x@rd.example y@rd.example z@rd.example; do
            "$REF_SBIN/sendmail" -C "$QM_T/$qm_s/conf" -f sender@example.com "$qm_r" <"$QM_T/msg"
        done
    done
    for qm_s in ref ours; do qm_settle $qm_s; done
    qm_both rate-delay 'qm_rate_spans'
    qm_both settled 'qm_settle $S && sleep 1 && qm_settle $S && echo ok'
    qm_both backoff 'qm_backoff'
    qm_both queue1 'qm_queue'
    # postqueue -f: every deferred message once more; defer_transports is
    # overridden, so the held one goes out now.
    qm_both flush '$REF_SBIN/postqueue -c $QM_T/$S/conf -f; sleep 2; qm_settle $S && echo ok'
    qm_both queue2 'qm_queue'
    qm_both files 'qm_files'
    qm_both preempt 'qm_preempt'
    qm_both stop 'qm_settle $S; sleep 1; qm_settle $S; $REF_SBIN/postfix -c $QM_T/$S/conf stop; sleep 1'
    qm_both maillog 'qm_log'

    # SIGKILL: our qmgr dies with mail in flight; a new one (started by the
    # master) must deliver every message.
    S=ours
    # qm_sink_rcpts - distinct recipients the sink received (a message
    # in flight when qmgr died may come twice, as with the reference).
    qm_sink_rcpts() { cat "$QM_T/ours/sink/"* 2>/dev/null | grep -o '^X-Rcpt-Args: <k[0-9]*@' | sort -u | wc -l; }
    rm -f "$QM_T/ours/sink/"* "$QM_T/ours/maillog"
    "$REF_SBIN/postsuper" -c "$QM_T/ours/conf" -d ALL >/dev/null 2>&1
    "$REF_SBIN/postfix" -c "$QM_T/ours/conf" start >/dev/null 2>&1
    printf 'Subject: burst\n\nbody\n' >"$QM_T/msg"
    for i in $(seq 1 20); do "$REF_SBIN/sendmail" -C "$QM_T/ours/conf" -f sender@example.com "k$i@remote.example" <"$QM_T/msg"; done
    sleep 0.3
    qm_qpid=$(pgrep -f "^qmgr -l -t unix -u" -P "$(cat "$QM_T/ours/q/pid/master.pid" | tr -d ' ')" | head -1)
    [ -n "$qm_qpid" ] && kill -KILL "$qm_qpid"
    for i in $(seq 21 30); do "$REF_SBIN/sendmail" -C "$QM_T/ours/conf" -f sender@example.com "k$i@remote.example" <"$QM_T/msg"; done
    # The master starts a new qmgr at its next wakeup (or the next trigger).
    for i in $(seq 1 60); do
        [ "$(qm_sink_rcpts)" -ge 30 ] && break
        "$REF_SBIN/postqueue" -c "$QM_T/ours/conf" -f >/dev/null 2>&1
        sleep 1
    done
    qm_n=$(qm_sink_rcpts)
    qm_left=$(find "$QM_T/ours/q/incoming" "$QM_T/ours/q/active" "$QM_T/ours/q/deferred" -type f | wc -l)
    if [ -n "$qm_qpid" ] && [ "$qm_n" -ge 30 ] && [ "$qm_left" = 0 ]; then
        record qmgr-sigkill 1
    else
        echo "FAIL qmgr-sigkill (killed pid '${qm_qpid}', $qm_n of 30 delivered, $qm_left left in the queue)"
        record qmgr-sigkill 0
    fi
    qm_stop
    qm_rl_run
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
