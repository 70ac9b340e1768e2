# deliver-basic.sh - our discard(8) and error(8) (also as "retry") inside
# a reference installation. Two private reference instances differ only in
# their daemon_directory: "ref" links every daemon to the reference, "mix"
# links discard and error to ours. The reference's sendmail submits the
# same messages to both, routed by transport_maps to discard:, error: and
# retry: next hops (with and without status codes, a code of the wrong
# class, several recipients, a virtual alias for orig_to, sendmail -v and
# -bv, DSN NOTIFY=SUCCESS, soft_bounce, address verification probes);
# bounces and delivery reports come back to the sender's domain, which is
# discarded. Compared: verify(8)'s answers, the maillog (times, pids,
# queue ids, delays normalized), the defer logs the retry service leaves,
# the deferred queue files, and the queue left behind.
#
# Needs root, the postfix user and our daemons; skipped otherwise.

DB_T=$COMPAT_TMP/deliver-basic
mkdir -p "$DB_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$DB_T"

db_instance() {
    local s=$1 d=$DB_T/$1
    inst_dirs "$d"
    if [ "$s" = mix ]; then mixed_daemon_dir "$d/libexec" discard error; else mixed_daemon_dir "$d/libexec"; fi
    inst_main_cf "$d" "$d/libexec"
    cat >>"$d/conf/main.cf" <<EOF
myhostname = basic.example.com
mydomain = example.com
myorigin = example.com
mydestination =
transport_maps = hash:$d/conf/transport
virtual_alias_maps = hash:$d/conf/virtual
default_transport = error:no default route in this test
notify_classes =
EOF
    cat >"$d/conf/transport" <<'EOF'
bounces.example discard:bounce received
discard.example discard:silently
policy.example discard:2.7.0 dropped by policy
error.example error:5.1.1 no such place
plain.example error:mailbox unavailable
wrongclass.example error:4.4.4 not a bounce code
retry.example retry:4.4.1 try later
retry2.example retry:5.2.2 wrong class for retry
EOF
    cat >"$d/conf/virtual" <<'EOF'
alias@alias.example w@discard.example
split@alias.example s1@error.example, s2@discard.example
half@alias.example h1@error.example, h2@retry.example
EOF
    inst_master_cf "$d" pickup cleanup qmgr rewrite bounce defer trace showq error retry discard verify postlog
    "$REF_SBIN/postmap" -c "$d/conf" "$d/conf/transport" "$d/conf/virtual"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

db_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/delay=[0-9.]+, delays=[0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+/delay=D, delays=D/' \
        -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' -e "s#$DB_T/(ref|mix)#INST#g" -e 's/^(log_time|time)[=:] ?[0-9]+/\1=T/' "$@"
}

# db_both NAME CMD - run CMD with $S = ref, then mix; compare the outputs.
db_both() { local name=$1; shift; sides_case deliver-basic "$name" "$DB_T" ref mix "$@"; }

# db_settle SIDE - wait until only deferred mail is left in the queue.
db_settle() { queue_settled "$DB_T/$1/q" 100; }

# db_log_of SIDE - the delivery lines of the maillog, in a stable order.
# The lines logged while the instance stops are left out: our postlogd
# writes what is queued when it is told to stop, the reference's loses it.
db_log_of() {
    db_norm "$DB_T/$1/maillog" \
        | grep -v -e 'symlink leaves directory' -e 'waiting for the Postfix mail system to terminate' \
            -e 'stopping the Postfix mail system' -e 'terminating on signal' \
        | LC_ALL=C sort
}

# db_defer_logs - the defer logs (one per deferred message), normalized.
db_defer_logs() {
    local f
    for f in $(cd "$DB_T/$S/q" && find defer -type f | LC_ALL=C sort); do
        echo "== defer log"
        tr '\0' '\n' <"$DB_T/$S/q/$f" | db_norm | sed -E 's/^offset=[0-9]+$/offset=N/'
    done | LC_ALL=C sort
}

# db_ours_running SIDE - how many of SIDE's master's children run our binary.
db_ours_running() {
    local master ours p n=0
    master=$(tr -d ' ' <"$DB_T/$1/q/pid/master.pid" 2>/dev/null)
    ours=$(readlink -f "$OUR_LIBEXEC/discard")
    for p in $(pgrep -P "${master:-1}" 2>/dev/null); do
        [ "$(readlink -f /proc/$p/exe 2>/dev/null)" = "$ours" ] && n=$((n + 1))
    done
    echo "$n"
}

# db_verify SIDE ADDR - ask SIDE's verify(8) about ADDR (the request
# an smtpd reject_unverified_recipient check makes): prints the reply.
db_verify() {
    perl -MSocket -e '
        my ($path, $addr) = @ARGV;
        socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
        connect($s, sockaddr_un($path)) or die "connect: $!\n";
        sub list { my @t; my $cur = ""; my $c;
            while (sysread($s, $c, 1) == 1) {
                if ($c ne "\0") { $cur .= $c; next }
                return @t if $cur eq "" && @t % 2 == 0;
                push @t, $cur; $cur = "";
            }
            return ("EOF") }
        print join(" ", list()), "\n";
        syswrite($s, "request\0query\0address\0$addr\0\0");
        print join(" ", list()), "\n";' "$DB_T/$1/q/private/verify" "$2"
}

# db_postcat_deferred - the deferred queue files: recipients marked done
# by error(8) next to the ones retry(8) left to do.
db_postcat_deferred() {
    local f
    for f in $(cd "$DB_T/$S/q" && find deferred -type f | LC_ALL=C sort); do
        "$REF_SBIN/postcat" -c "$DB_T/$S/conf" -e "$DB_T/$S/q/$f" 2>&1 | db_norm \
            | sed -E -e 's/^(message_arrival_time|create_time): .*/\1: T/' -e 's/^message_size: .*/message_size: SIZES/' -e 's#/deferred/[0-9A-F]/#/deferred/H/#' \
                -e 's/^named_attribute: log_ident=.*/log_ident/' -e 's/^\*\*\* ENVELOPE RECORDS .*/ENVELOPE/'
    done | LC_ALL=C sort
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || [ ! -x "$OUR_LIBEXEC/discard" ] || [ ! -x "$OUR_LIBEXEC/error" ]; then
    echo "deliver-basic: skipped: needs root, the postfix user, and our discard and error daemons"
else
    db_stop() { local s; for s in ref mix; do "$REF_SBIN/postfix" -c "$DB_T/$s/conf" stop >/dev/null 2>&1; done; return 0; }
    trap 'db_stop; rm -rf "$COMPAT_TMP"' EXIT
    for db_s in ref mix; do db_instance $db_s; done
    db_both start '$REF_SBIN/postfix -c $DB_T/$S/conf start'
    # One message at a time, both instances, then wait for the queues.
    db_send() {
        local s
        for s in ref mix; do printf "$DB_MSG" | "$REF_SBIN/sendmail" -C "$DB_T/$s/conf" "$@" >"$DB_T/$s.send" 2>&1; done
        for s in ref mix; do db_settle $s; done
    }
    DB_MSG='Subject: discard\n\nbody\n'; db_send -f sender@bounces.example x@discard.example
    DB_MSG='Subject: policy\n\nbody\n'; db_send -f sender@bounces.example p@policy.example
    DB_MSG='Subject: error\n\nbody\n'; db_send -f sender@bounces.example y@error.example
    DB_MSG='Subject: error two\n\nbody\n'; db_send -f sender@bounces.example y1@error.example y2@error.example
    DB_MSG='Subject: plain\n\nbody\n'; db_send -f sender@bounces.example u@plain.example
    DB_MSG='Subject: wrong class\n\nbody\n'; db_send -f sender@bounces.example c@wrongclass.example
    DB_MSG='Subject: retry\n\nbody\n'; db_send -f sender@bounces.example z@retry.example
    DB_MSG='Subject: retry wrong\n\nbody\n'; db_send -f sender@bounces.example z2@retry2.example
    DB_MSG='Subject: alias\n\nbody\n'; db_send -f sender@bounces.example alias@alias.example
    DB_MSG='Subject: split\n\nbody\n'; db_send -f sender@bounces.example split@alias.example
    DB_MSG='Subject: half\n\nbody\n'; db_send -f sender@bounces.example half@alias.example
    DB_MSG='Subject: dsn success\n\nbody\n'; db_send -N success -f sender@bounces.example n@discard.example
    DB_MSG='Subject: verbose\n\nbody\n'; db_send -v -f sender@bounces.example v@discard.example
    DB_MSG='Subject: verbose error\n\nbody\n'; db_send -v -f sender@bounces.example ve@error.example
    DB_MSG=''; db_send -bv -f sender@bounces.example q@error.example
    DB_MSG=''; db_send -bv -f sender@bounces.example q2@discard.example
    DB_MSG='Subject: null sender\n\nbody\n'; db_send -f '' nul@error.example
    # soft_bounce: the error service defers (SOFTBOUNCE) instead.
    for db_s in ref mix; do
        "$REF_SBIN/postconf" -c "$DB_T/$db_s/conf" -e soft_bounce=yes
        touch -d '1 minute ago' "$DB_T/$db_s/conf/main.cf"
        "$REF_SBIN/postfix" -c "$DB_T/$db_s/conf" reload >/dev/null 2>&1
    done
    sleep 1
    DB_MSG='Subject: soft\n\nbody\n'; db_send -f sender@bounces.example soft@error.example
    for db_s in ref mix; do
        "$REF_SBIN/postconf" -c "$DB_T/$db_s/conf" -e soft_bounce=no
        touch -d '1 minute ago' "$DB_T/$db_s/conf/main.cf"
        "$REF_SBIN/postfix" -c "$DB_T/$db_s/conf" reload >/dev/null 2>&1
    done
    sleep 1
    # Address verification probes (DEL_REQ_FLAG_MTA_VRFY): the agents
    # report to verify(8), whose answer is then compared.
    for db_s in ref mix; do for db_a in probe@discard.example probe@error.example probe@retry.example; do
        db_verify $db_s $db_a >/dev/null 2>&1; done; done
    for db_s in ref mix; do db_settle $db_s; done
    sleep 1
    for db_s in ref mix; do db_settle $db_s; done
    db_both verify 'for a in probe@discard.example probe@error.example probe@retry.example; do db_verify $S $a; done'
    db_both settled 'db_settle $S && sleep 1 && db_settle $S && echo ok'
    # The mix instance really ran our daemons (and the other one none).
    case "deliver-basic-ours-ran" in *"${CASE_FILTER:-}"*)
        db_ref_n=$(db_ours_running ref) db_mix_n=$(db_ours_running mix)
        if [ "$db_ref_n" = 0 ] && [ "$db_mix_n" -ge 2 ]; then record deliver-basic-ours-ran 1; else
            echo "FAIL deliver-basic-ours-ran (our daemons running: ref $db_ref_n, mix $db_mix_n)"; record deliver-basic-ours-ran 0; fi;;
    esac
    db_both queue '$REF_SBIN/postqueue -c $DB_T/$S/conf -p | db_norm | sed -E "s/^QID +[0-9]+ .*/QID SIZE DATE/" | LC_ALL=C sort'
    db_both defer-logs 'db_defer_logs'
    db_both deferred-files 'db_postcat_deferred'
    db_both stop '$REF_SBIN/postfix -c $DB_T/$S/conf stop; sleep 1'
    db_both status-lines 'db_log_of $S | grep -E "status=|dsn="'
    db_both warnings 'db_log_of $S | grep -E "warning|fatal|panic"'
    db_both daemon-lines 'db_log_of $S | grep -E "postfix/(discard|error|retry)\["'
    db_both maillog 'db_log_of $S'
    db_stop
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
