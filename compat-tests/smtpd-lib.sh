# smtpd-lib.sh - throwaway Postfix instances for the smtpd(8) compat suites
# (smtpd, smtpd-restrict, smtpd-sasl, anvil, milter): sourced after lib.sh.
# An instance has its own directory under $SD_T, a loopback high port, and
# one of three kinds of daemons:
#   ref   the reference's daemons (daemon_directory = $REF_LIBEXEC)
#   ours  the reference's daemons with OUR smtpd swapped in (mixed_daemon_dir)
#   all   our master and all our daemons and commands (as delivery.sh)
# Mail is not delivered unless SD_DELIVER=1 (then qmgr, local, error, discard
# run too and mydestination = localhost, $myhostname): by default it stays
# in the incoming queue, where sd_queue shows it.
#
#   sd_instance NAME KIND PORT [MAIN_CF_LINE...] [-- MASTER_CF_LINE...]
#       make (or remake) the instance. MAIN_CF_LINEs ("name = value") are
#       appended to main.cf (replacing an earlier setting of the name); MASTER_CF_LINEs to master.cf. A master.cf line
#       that starts with "127.0.0.1:PORT " replaces the default smtpd line
#       ("127.0.0.1:PORT inet n - n - - smtpd"). In values, INST stands for
#       the instance directory (tables, certificates).
#   sd_start NAME          start it (inst_start: no integrity checks), wait
#                          until the port listens (10 s max)
#   sd_stop NAME           stop it (inst_stop)
#   sd_stop_all            stop every instance made by sd_instance
#   sd_dialog NAME SCRIPT [smtp-dialog options]
#                          replay SCRIPT against the instance; normalised
#                          transcript on stdout (the instance path -> INST)
#   sd_log NAME [DAEMON]   the instance's DAEMON (smtpd) log lines so far,
#                          normalised (times, pids, queue ids, ports, paths)
#   sd_log_mark NAME       remember the log's length; sd_log_since NAME
#                          [DAEMON] prints only what was logged after it
#   sd_queue NAME          postcat -q of every queued message, normalised,
#                          in a stable order (by envelope sender/recipient)
#   sd_queue_clear NAME    delete every queued message (postsuper -d ALL)
#   sd_settle NAME         wait until smtpd has handed its mail over
#   sd_ours_ready          true when $OUR_LIBEXEC/smtpd answers SMTP (a
#                          test instance is started once and asked, on port
#                          $SD_PROBE_PORT: each suite has its own, so that
#                          suites can run at the same time)
#   sd_norm_log / sd_norm_queue   the normalising filters (stdin -> stdout)
# Variables: SD_T (instances' parent), SD_HOST (myhostname, default
# mail.example.com), SD_DIALOG (the dialogue tool), SD_DELIVER.
# Needs root and the postfix user.

SD_T=${SD_T:-$COMPAT_TMP/smtpd-inst}
SD_HOST=${SD_HOST:-mail.example.com}
SD_DIALOG=${SD_DIALOG:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/smtp-dialog.py}
SD_INSTANCES=${SD_INSTANCES:-}
mkdir -p "$SD_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$SD_T"

sd_dir() { echo "$SD_T/$1"; }
sd_port() { cat "$SD_T/$1/port"; }
sd_kind() { cat "$SD_T/$1/kind"; }
sd_sbin() { if [ "$(sd_kind "$1")" = all ]; then echo "$OUR_SBIN"; else echo "$REF_SBIN"; fi; }

sd_instance() {
    local name=$1 kind=$2 port=$3 d=$SD_T/$1 line master_lines=() in_master= daemons
    shift 3
    [ -f "$d/conf/main.cf" ] && sd_stop "$name"
    inst_dirs "$d"
    echo "$port" >"$d/port"; echo "$kind" >"$d/kind"
    case $kind in
        ref) daemons=$REF_LIBEXEC ;;
        ours) mixed_daemon_dir "$d/libexec" smtpd; daemons=$d/libexec ;;
        all) daemons=$OUR_LIBEXEC ;;
        *) echo "sd_instance: unknown kind $kind" >&2; return 1 ;;
    esac
    inst_main_cf "$d" "$daemons" "command_directory = $([ "$kind" = all ] && echo "$OUR_SBIN" || echo "$REF_SBIN")"
    {
        echo "myhostname = $SD_HOST"
        echo "mydomain = example.com"
        echo "myorigin = example.com"
        echo "mynetworks = 127.0.0.0/8"
        if [ -n "${SD_DELIVER:-}" ]; then
            mkdir -p "$d/mail"; chmod 1777 "$d/mail"
            echo "mydestination = localhost, \$myhostname"
            echo "home_mailbox ="
            echo "mail_spool_directory = $d/mail"
            echo "local_recipient_maps ="
            echo "default_privs = nobody"
            echo "default_transport = error:no default route in this test"
            echo "delay_logging_resolution_limit = 0"
        else
            echo "mydestination ="
        fi
        echo "alias_maps ="
        echo "alias_database ="
        echo "notify_classes ="
        echo "in_flow_delay = 0"
        echo "smtpd_banner = \$myhostname ESMTP"
    } >>"$d/conf/main.cf"
    for line in "$@"; do
        if [ "$line" = -- ]; then in_master=1; continue; fi
        if [ -n "$in_master" ]; then master_lines+=("$line"); continue; fi
        # A later setting replaces an earlier one (no "overriding" warnings).
        case $line in
            [a-z]*=*) local pname=${line%%=*}; pname=${pname%% *}
                sed -i "/^$pname[ \t]*=/d" "$d/conf/main.cf" ;;
        esac
        echo "${line//INST/$d}" >>"$d/conf/main.cf"
    done
    {
        local have_smtpd=
        for line in "${master_lines[@]}"; do case $line in "127.0.0.1:$port "*) have_smtpd=1;; esac; done
        [ -n "$have_smtpd" ] || echo "127.0.0.1:$port inet n - n - - smtpd"
        cat <<'EOF'
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
        [ -x "$daemons/tlsmgr" ] && echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr"
        [ -x "$daemons/proxymap" ] && echo "proxymap  unix  -       -       n       -       -       proxymap"
        if [ -n "${SD_DELIVER:-}" ]; then
            cat <<'EOF'
qmgr      unix  n       -       n       300     1       qmgr
local     unix  -       n       n       -       -       local
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
EOF
        fi
        for line in "${master_lines[@]}"; do echo "${line//INST/$d}"; done
    } >"$d/conf/master.cf"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
    case " $SD_INSTANCES " in *" $name "*) ;; *) SD_INSTANCES="$SD_INSTANCES $name";; esac
}

# sd_listening PORT - true when something listens on 127.0.0.1:PORT.
sd_listening() {
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

sd_start() {
    local d=$SD_T/$1 port i
    port=$(sd_port "$1")
    if sd_listening "$port"; then echo "sd_start $1: port $port is already in use" >&2; return 1; fi
    inst_start "$d/conf" "$(sd_sbin "$1")" >"$d/start.out" 2>&1 || { cat "$d/start.out" >&2; return 1; }
    for i in $(seq 1 100); do
        sd_listening "$port" && return 0
        sleep 0.1
    done
    echo "sd_start $1: nothing listens on port $port" >&2
    return 1
}

sd_stop() {
    [ -f "$SD_T/$1/conf/main.cf" ] && inst_stop "$SD_T/$1/conf"
    return 0
}

sd_stop_all() {
    local n
    for n in $SD_INSTANCES; do sd_stop "$n"; done
    return 0
}

sd_dialog() {
    local name=$1 script=$2 d=$SD_T/$1; shift 2
    python3 "$SD_DIALOG" --timeout "${SD_TIMEOUT:-5}" "$@" 127.0.0.1 "$(sd_port "$name")" "$script" 2>&1 \
        | sed -e "s#$d#INST#g"
}

sd_norm_log() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ /TIME /'  -e 's/<[0-9]{14}\.([0-9A-F]{10,12})@/<STAMP.\1@/' -e 's/<[0-9]{14}\.[0-9]+@/<STAMP.N@/' -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' \
        -e 's/\[[0-9]+\]: /[PID]: /' -e 's/\b[0-9A-F]{10,12}\b/QID/g' \
        -e 's/(127\.0\.0\.1)\]:[0-9]+/\1]:PORT/g' -e 's/ port [0-9]+/ port PORT/g' \
        -e 's/delay=[0-9.]+, delays=[0-9.\/]+/delay=D, delays=D/' -e 's/ pid [0-9]+ / pid N /' \
        -e "s#$SD_T/[^/ ]+#INST#g" -e "s#$REF_LIBEXEC/#DAEMONS/#g; s#$OUR_LIBEXEC/#DAEMONS/#g"
}

# sd_sort_disconnects - adjacent "disconnect from" and "NOQUEUE: client="
# lines in a fixed order: they come from different sessions (a proxy
# filter's session ends, or begins, while its client's ends), whose
# lines race by a fraction of a millisecond.
sd_sort_disconnects() {
    awk '/: disconnect from / || /: NOQUEUE: client=/ { run[n++] = $0; next }
         { if (n) { flush() } print }
         function flush(  i, j, t) {
             for (i = 1; i < n; i++) for (j = i; j > 0 && run[j-1] > run[j]; j--) { t = run[j]; run[j] = run[j-1]; run[j-1] = t }
             for (i = 0; i < n; i++) print run[i]; n = 0
         }
         END { if (n) flush() }'
}

sd_log() {
    local d=$SD_T/$1 daemon=${2:-smtpd}
    [ -f "$d/maillog" ] || return 0
    grep -a " postfix/$daemon\[" "$d/maillog" | sd_norm_log | sd_sort_disconnects
}

sd_log_mark() {
    local d=$SD_T/$1
    if [ -f "$d/maillog" ]; then wc -l <"$d/maillog" >"$d/logmark"; else echo 0 >"$d/logmark"; fi
}

sd_log_since() {
    local d=$SD_T/$1 daemon=${2:-smtpd} mark=0
    [ -f "$d/logmark" ] && mark=$(cat "$d/logmark")
    [ -f "$d/maillog" ] || return 0
    tail -n +$((mark + 1)) "$d/maillog" | grep -a " postfix/$daemon\[" | sd_norm_log | sd_sort_disconnects
}

sd_norm_queue() {
    # The content offset in message_size depends on the queue ID's length.
    sed -E -e 's/\b[0-9A-F]{10,12}\b/QID/g' \
        -e 's/^(message_arrival_time|create_time): .*/\1: T/' \
        -e 's/^message_size: .*/message_size: SIZES/' -e '/^\*\*\* ENVELOPE RECORDS/d' \
        -e 's/^named_attribute: log_ident=.*/log_ident/' -e 's/((log_)?client_port|server_port)=[0-9]+/\1=PORT/' \
        -e 's/(; |\t|Date: )[A-Z][a-z]{2}, [ 0-9]?[0-9] [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}( \([A-Z]+\))?/\1DATE/' \
        -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' -e 's/<[0-9]{14}\.[0-9]+@/<STAMP.N@/' -e "s#$SD_T/[^/ ]+#INST#g"
}

# sd_queue NAME - every queued message (maildrop, incoming, active, deferred, hold),
# each as postcat -q shows it, sorted by content (stable across runs).
sd_queue() {
    local d=$SD_T/$1 f out
    out=$(mktemp "$SD_T/queue.XXXXXX")
    for f in $(cd "$d/q" && find maildrop incoming active deferred hold -type f 2>/dev/null); do
        { echo "=== $(dirname "$f")"; "$REF_SBIN/postcat" -c "$d/conf" "$d/q/$f" 2>&1 | sd_norm_queue; } \
            | tr '\n' '\001' >>"$out"; echo >>"$out"
    done
    LC_ALL=C sort "$out" | tr '\001' '\n'
    rm -f "$out"
}

sd_queue_clear() {
    [ -n "$(find "$SD_T/$1/q/maildrop" "$SD_T/$1/q/incoming" "$SD_T/$1/q/active" "$SD_T/$1/q/deferred" "$SD_T/$1/q/hold" -type f 2>/dev/null)" ] || return 0
    "$REF_SBIN/postsuper" -c "$SD_T/$1/conf" -d ALL >/dev/null 2>&1
    return 0
}

# sd_settle NAME - wait (3 s max) until no queue file is still being written.
sd_settle() {
    local d=$SD_T/$1 i
    for i in $(seq 1 30); do
        [ -z "$(find "$d/q/incoming" -type f ! -perm -u=x 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# sd_ours_ready - our smtpd answers SMTP (the placeholder does not). Cached.
sd_ours_ready() {
    if [ -z "${SD_OURS_READY:-}" ]; then
        SD_OURS_READY=no
        if [ -x "$OUR_LIBEXEC/smtpd" ] && [ "$(id -u)" = 0 ]; then
            sd_instance sd-probe ours "${SD_PROBE_PORT:-42999}"
            if sd_start sd-probe; then
                printf 'QUIT\n' >"$SD_T/sd-probe/probe.txt"
                sd_dialog sd-probe "$SD_T/sd-probe/probe.txt" --timeout 5 | grep -q '^S: 220 ' && SD_OURS_READY=yes
            fi
            sd_stop sd-probe
        fi
    fi
    [ "$SD_OURS_READY" = yes ]
}
