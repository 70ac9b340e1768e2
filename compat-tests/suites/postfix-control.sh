# postfix-control.sh - postfix(1), the control command, against the
# reference on one private instance (loopback only), each command run by
# the reference and then by ours from the same starting state: stdout,
# stderr, exit status, the maillog lines (time and pids normalized), the
# master's state (running or not, pid file) afterwards, and for check,
# set-permissions and upgrade-configuration the resulting directory tree
# (types, owners, groups, modes) and configuration files.
#
# The daemon_directory holds symlinks to the reference daemons (and to the
# reference postfix-script, which only the reference postfix runs); the
# master is the reference's on both sides. Stderr as a terminal is tested
# through script(1). Needs root and the postfix user; skipped otherwise.
# PF_DAEMONS=DIR takes the daemons from DIR instead (a directory whose
# "master" is our multi-call binary runs the same cases with our master).

PF_T=$COMPAT_TMP/pfx
PF_C=$PF_T/conf
PF_Q=$PF_T/q
PF_LOG=$PF_T/maillog
PF_REF=$REF_SBIN/postfix
PF_OURS=$OUR_SBIN/postfix
PF_DAEMONS=${PF_DAEMONS:-/usr/lib/postfix/sbin}

# pf_main DIR [EXTRA...] - main.cf of the private instance.
pf_main() {
    local d=$1; shift
    mkdir -p "$d"
    {
        echo "queue_directory = $PF_Q"
        echo "data_directory = $PF_T/data"
        echo "daemon_directory = $PF_T/libexec"
        echo "meta_directory = $PF_T/meta"
        echo "maillog_file = $PF_LOG"
        echo "maillog_file_prefixes = $PF_T"
        echo "inet_interfaces = loopback-only"
        echo "inet_protocols = ipv4"
        echo "mydestination ="
        echo "myhostname = pfx.example.com"
        for x in "$@"; do echo "$x"; done
    } >"$d/main.cf"
    cat >"$d/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    find "$d" -maxdepth 1 -type f -exec touch -d '1 minute ago' {} +
}

pf_setup() {
    mkdir -p "$PF_T/libexec" "$PF_T/meta" "$PF_Q" "$PF_T/data"
    chmod 711 "$COMPAT_TMP"
    chmod 755 "$PF_T"
    chown postfix "$PF_T/data"
    local n
    for n in master postlogd pickup cleanup postfix-script post-install; do
        ln -sf "$PF_DAEMONS/$n" "$PF_T/libexec/$n"
    done
    # Only the instance's own directories: set-permissions must not touch
    # the installed system.
    grep -E '^\$(queue_directory|data_directory|config_directory)' /etc/postfix/postfix-files >"$PF_T/meta/postfix-files"
    {
        echo '$config_directory/obsolete-thing:f:root:-:644:o'
        echo '$daemon_directory/nqmgr:h:$daemon_directory/qmgr'
        echo '$config_directory/absent-unless-default:f:root:-:644:1'
    } >>"$PF_T/meta/postfix-files"
    # Packages add their own entries in postfix-files.d.
    mkdir -p "$PF_T/meta/postfix-files.d"
    echo '$queue_directory/extra:d:$mail_owner:$setgid_group:750:uc' >"$PF_T/meta/postfix-files.d/extra.files"
    pf_main "$PF_C" "compatibility_level = 3.6"
    pf_main "$PF_T/oldcompat"
    pf_main "$PF_T/noqueue" "compatibility_level = 3.6" "queue_directory = $PF_T/no-such-queue"
    # The reference postfix needs its script; only the master is missing.
    mkdir -p "$PF_T/nomaster-libexec"
    ln -sf "$PF_DAEMONS/postfix-script" "$PF_T/nomaster-libexec/postfix-script"
    pf_main "$PF_T/nomaster" "compatibility_level = 3.6" "daemon_directory = $PF_T/nomaster-libexec"
    pf_main "$PF_T/nometa" "compatibility_level = 3.6" "meta_directory = $PF_T/no-such-meta"
    "$PF_REF" -c "$PF_C" check >/dev/null 2>&1
}

pf_running() { "$PF_T/libexec/master" -c "$PF_C" -t 2>/dev/null && echo no || echo yes; }

pf_stop() {
    # (Not a case: no postfix stop and its one-second waits.)
    if [ "$(pf_running)" = yes ]; then
        inst_stop "$PF_C"
    fi
    rm -f "$PF_Q/quick-start" "$PF_T"/maillog.*
    # A case may have edited main.cf (set-permissions name=value).
    pf_main "$PF_C" "compatibility_level = 3.6"
}

pf_start() {
    pf_stop
    # quick-start: no checks, the fast way up.
    touch "$PF_Q/quick-start"
    "$PF_REF" -c "$PF_C" start >/dev/null 2>&1
    rm -f "$PF_Q/quick-start"
}

# pf_tree - types, owners, groups and modes below the instance.
pf_tree() {
    (cd "$PF_T" && find q data conf up -printf '%p %y %u %g %m\n' 2>/dev/null | grep -v '^q/pid/master.pid \|^q/public/\|^q/private/' | LC_ALL=C sort)
}

# pf_side SIDE DIR SETUP ARGS... - SETUP, then postfix ARGS on one side.
pf_side() {
    local side=$1 out=$2 setup=$3; shift 3
    $setup
    # Late lines of the setup (a master going down) stay out of the log.
    [ "$(pf_running)" = yes ] && sleep 0.2
    : >"$PF_LOG"
    if [ -n "${PF_FG:-}" ]; then
        # start-fg: wait for the master to come up, stop it, collect.
        local prog=$PF_REF i fg
        [ "$side" = ours ] && prog=$PF_OURS
        mkdir -p "$out"
        (cd "$COMPAT_TMP" && exec "$prog" "$@") </dev/null >"$out/stdout" 2>"$out/stderr" &
        fg=$!
        for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            [ "$(pf_running)" = yes ] && break
            sleep 0.25
        done
        echo "running in the foreground: $(pf_running)" >>"$out/stdout"
        sleep 0.3
        "$PF_REF" -c "$PF_C" stop >/dev/null 2>&1
        wait "$fg"
        echo $? >"$out/status"
    elif [ -n "${PF_TTY:-}" ]; then
        local prog=$PF_REF
        [ "$side" = ours ] && prog=$PF_OURS
        mkdir -p "$out"
        (cd "$COMPAT_TMP" && ${PF_AS:-} script -qec "$prog $*" /dev/null) </dev/null 2>"$out/stderr" | tr -d '\r' >"$out/stdout"
        echo "${PIPESTATUS[0]}" >"$out/status"
    elif [ -n "${PF_AS:-}" ]; then
        local prog=$PF_REF
        [ "$side" = ours ] && prog=$PF_OURS
        mkdir -p "$out"
        (cd "$COMPAT_TMP" && $PF_AS "$prog" "$@") </dev/null >"$out/stdout" 2>"$out/stderr"
        echo $? >"$out/status"
    else
        run_side "$side" "$out" postfix "$@"
    fi
    # postlogd writes asynchronously.
    if [ -n "${PF_SETTLE:-}" ]; then sleep "$PF_SETTLE"; elif [ "$(pf_running)" = yes ]; then sleep 0.3; fi
    # A master that takes a moment to exit makes the reference wait a
    # second, or not: PF_NOWAIT drops those lines (pfx stop force tests them).
    cat "$PF_LOG" 2>/dev/null | sed -E 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} //; s/\[[0-9]+\]:/[PID]:/; s/PID: [0-9]+/PID: N/' |
        if [ -n "${PF_NOWAIT:-}" ]; then grep -v 'waiting for the Postfix mail system to terminate'; else cat; fi >"$out/maillog"
    {
        echo "running: $(pf_running)"
        [ -f "$PF_Q/pid/master.pid" ] && echo "pid file" || echo "no pid file"
        [ -f "$PF_Q/quick-start" ] && echo "quick-start"
        [ -n "${PF_LS:-}" ] && ls "$PF_T" | grep maillog | sed -E 's/[0-9]{8}-[0-9]{6}/STAMP/'
        [ -n "${PF_SLEEPER:-}" ] && { grep -qs '^State:.*[RS]' "/proc/$PF_SLEEPER/status" && echo "sleeper alive" || echo "sleeper gone"; }
    } >"$out/state"
    [ -n "${PF_TREE:-}" ] && pf_tree >"$out/tree"
    for f in ${PF_FILES:-}; do cp "$f" "$out/$(basename "$f")" 2>/dev/null; done
    return 0
}

# pf_case NAME SETUP ARGS... - one command on both sides, all compared.
pf_case() {
    local name=$1 setup=$2; shift 2
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local d="$COMPAT_TMP/cases/pfx-$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')"
    rm -rf "$d"; mkdir -p "$d"
    pf_side ref "$d/ref" "$setup" "$@"
    pf_side ours "$d/ours" "$setup" "$@"
    local ok=1 f
    for f in stdout stderr status maillog state ${PF_TREE:+tree} $(for x in ${PF_FILES:-}; do basename "$x"; done); do
        normalize "$d/ref/$f" >"$d/ref/$f.n" 2>/dev/null
        normalize "$d/ours/$f" >"$d/ours/$f.n" 2>/dev/null
        # Our binary's path and the reference's differ in a shell's message.
        sed -i "s#$PF_OURS#postfix#g; s#$PF_REF#postfix#g" "$d/ref/$f.n" "$d/ours/$f.n"
        if [ "$f" = "${PF_SORT:-}" ]; then
            LC_ALL=C sort -o "$d/ref/$f.n" "$d/ref/$f.n"
            LC_ALL=C sort -o "$d/ours/$f.n" "$d/ours/$f.n"
        fi
        if ! cmp -s "$d/ref/$f.n" "$d/ours/$f.n"; then
            ok=0
            echo "FAIL $name ($f differs: postfix $*)"
            diff -u "$d/ref/$f.n" "$d/ours/$f.n" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        fi
    done
    record "$name" $ok
}

# States a case starts from.
pf_s_stopped() { pf_stop; }
pf_s_running() { pf_start; }
pf_s_bad_compressor() {
    pf_stop
    echo "maillog_file_compressor = /bin/false" >>"$PF_C/main.cf"
    touch -d '1 minute ago' "$PF_C/main.cf"
}
pf_s_bad_master_cf() {
    pf_stop
    echo "bogus     unix  -       -       nx      -       -       bogus" >>"$PF_C/master.cf"
}
pf_s_no_master_cf() { pf_stop; rm -f "$PF_C/master.cf"; }
pf_s_quick() { pf_stop; touch "$PF_Q/quick-start"; }
pf_s_stubborn() {
    pf_stop
    mkdir -p "$PF_T/fake"
    ln -sf "$PF_DAEMONS/postfix-script" "$PF_T/fake/postfix-script"
    printf '#!/bin/sh\ncase "$1" in -t) exit 1;; esac\nexit 0\n' >"$PF_T/fake/master"
    chmod 755 "$PF_T/fake/master"
    pf_main "$PF_T/fakeconf" "compatibility_level = 3.6" "daemon_directory = $PF_T/fake"
    PF_SLEEPER=$(setsid sh -c 'trap "" TERM; exec sleep 30' </dev/null >/dev/null 2>&1 & echo $!)
    sleep 0.1
    printf '%32d\n' "$PF_SLEEPER" >"$PF_Q/pid/master.pid"
}

# A damaged queue: missing, wrong-mode and wrong-owner directories, a
# damaged message, a stale system file copy, a writable data directory.
pf_s_broken() {
    pf_stop
    rm -rf "$PF_Q/deferred" "$PF_Q/pid" "$PF_Q/bin" "$PF_Q/etc" "$PF_Q/extra"
    chmod 777 "$PF_Q/active"
    chown root "$PF_Q/hold"
    chmod 755 "$PF_Q/maildrop"
    chgrp root "$PF_Q/public"
    chmod 775 "$PF_Q"
    mkdir -p "$PF_Q/corrupt" "$PF_Q/etc"
    echo junk >"$PF_Q/corrupt/ABCDEF"
    echo "not the system file" >"$PF_Q/etc/hosts"
    chown nobody "$PF_Q/etc/hosts"
    chmod 770 "$PF_T/data"
    touch "$PF_T/data/stray"
}
pf_s_repaired() {
    pf_s_broken
    "$PF_REF" -c "$PF_C" set-permissions >/dev/null 2>&1
    rm -rf "$PF_Q/etc" "$PF_Q/corrupt/ABCDEF" "$PF_T/data/stray"
    chmod 755 "$PF_Q"
}

# An old configuration to upgrade: a master.cf from long ago.
pf_s_old_conf() {
    pf_stop
    rm -rf "$PF_T/up"
    pf_main "$PF_T/up" "compatibility_level = 3.6" "hash_queue_names = hold"
    sed -i '/^inet_protocols/d' "$PF_T/up/main.cf"
    cat >"$PF_T/up/master.cf" <<'EOF'
smtp      inet  n       -       n       -       -       smtpd
pickup    fifo  n       n       n       60      1       pickup
cleanup   unix  -       -       n       -       0       cleanup
qmgr      fifo  n       -       n       300     1       qmgr
tlsmgr    fifo  -       -       n       300     1       tlsmgr
verify    unix  -       -       n       -       0       verify
flush     unix  -       -       n       1000?   0       flush
proxywrite unix -       -       n       -       -       proxymap
EOF
    echo old >"$PF_T/up/obsolete-thing"
    touch -d '1 minute ago' "$PF_T/up/main.cf" "$PF_T/up/master.cf"
}
pf_s_old_conf_broken() { pf_s_old_conf; pf_s_broken; }

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1; then
    echo "postfix-control: skipped: needs root and the postfix user"
elif [ ! -x "$PF_OURS" ]; then
    echo "postfix-control: skipped: $PF_OURS not built"
else
    pf_old_trap=$(trap -p EXIT)
    trap '"$PF_REF" -c "$PF_C" stop >/dev/null 2>&1; rm -rf "$COMPAT_TMP"' EXIT
    pf_setup

    # Options and arguments.
    pf_case "pfx status stopped" pf_s_stopped -c "$PF_C" status
    pf_case "pfx unknown command" pf_s_stopped -c "$PF_C" frobnicate now
    pf_case "pfx no command" pf_s_stopped -c "$PF_C"
    pf_case "pfx non-bdb status" pf_s_stopped -c "$PF_C" non-bdb status
    pf_case "pfx start_msg" pf_s_stopped -c "$PF_C" start_msg
    pf_case "pfx stop_msg" pf_s_stopped -c "$PF_C" stop_msg
    pf_case "pfx -v status" pf_s_stopped -v -c "$PF_C" status
    pf_case "pfx relative -c" pf_s_stopped -c conf status
    pf_case "pfx bad option" pf_s_stopped -x -c "$PF_C" status
    pf_case "pfx missing config" pf_s_stopped -c "$PF_T/nonexistent" status
    pf_case "pfx old compat level" pf_s_stopped -c "$PF_T/oldcompat" status
    pf_case "pfx default config" pf_s_stopped status
    pf_case "pfx missing queue" pf_s_stopped -c "$PF_T/noqueue" status
    pf_case "pfx missing master" pf_s_stopped -c "$PF_T/nomaster" status
    pf_case "pfx missing meta" pf_s_stopped -c "$PF_T/nometa" start
    MAIL_CONFIG=$PF_C pf_case "pfx MAIL_CONFIG" pf_s_stopped status
    # What children see: the exported parameters and the filtered environment.
    PF_SORT=stdout FOO=bar LANG=de_DE TZ=UTC pf_case "pfx environment" pf_s_stopped -c "$PF_C" /usr/bin/env
    pf_case "pfx run a command" pf_s_stopped -c "$PF_C" /bin/sh -c 'echo hello; exit 3'
    pf_case "pfx run a missing command" pf_s_stopped -c "$PF_C" /nonexistent/cmd
    pf_case "pfx tls without script" pf_s_stopped -c "$PF_C" tls all-default-client
    pf_case "pfx post-install usage" pf_s_stopped -c "$PF_C" post-install bogus
    pf_case "pfx post-install nothing" pf_s_stopped -c "$PF_C" post-install mail_owner=postfix

    # Life cycle.
    pf_case "pfx start" pf_s_stopped -c "$PF_C" start
    pf_case "pfx start -D" pf_s_stopped -D -c "$PF_C" start
    pf_case "pfx start running" pf_s_running -c "$PF_C" start
    PF_FG=1 pf_case "pfx start-fg" pf_s_stopped -c "$PF_C" start-fg
    pf_case "pfx start-fg running" pf_s_running -c "$PF_C" start-fg
    pf_case "pfx start quick" pf_s_quick -c "$PF_C" start
    pf_case "pfx start bad master.cf" pf_s_bad_master_cf -c "$PF_C" start
    pf_case "pfx check no master.cf" pf_s_no_master_cf -c "$PF_C" check
    pf_case "pfx start no master.cf" pf_s_no_master_cf -c "$PF_C" start
    pf_case "pfx status bad master.cf" pf_s_bad_master_cf -c "$PF_C" status
    pf_case "pfx status running" pf_s_running -c "$PF_C" status
    pf_case "pfx reload" pf_s_running -c "$PF_C" reload
    pf_case "pfx reload stopped" pf_s_stopped -c "$PF_C" reload
    pf_case "pfx flush running" pf_s_running -c "$PF_C" flush
    pf_case "pfx flush stopped" pf_s_stopped -c "$PF_C" flush
    PF_NOWAIT=1 pf_case "pfx stop" pf_s_running -c "$PF_C" stop
    pf_case "pfx stop stopped" pf_s_stopped -c "$PF_C" stop
    pf_case "pfx abort" pf_s_running -c "$PF_C" abort
    pf_case "pfx abort stopped" pf_s_stopped -c "$PF_C" abort
    PF_SETTLE=1 pf_case "pfx drain" pf_s_running -c "$PF_C" drain
    pf_case "pfx drain stopped" pf_s_stopped -c "$PF_C" drain
    PF_NOWAIT=1 pf_case "pfx quick-stop" pf_s_running -c "$PF_C" quick-stop
    # A master that ignores SIGTERM (a stand-in: "master -t" always says
    # running, the pid file names a process group that ignores TERM).
    pf_case "pfx stop force" pf_s_stubborn -c "$PF_T/fakeconf" stop
    [ -n "${PF_SLEEPER:-}" ] && kill -9 "$PF_SLEEPER" 2>/dev/null
    PF_SLEEPER=

    # Checks and permissions on a damaged queue.
    PF_TREE=1 pf_case "pfx check" pf_s_broken -c "$PF_C" check
    PF_TREE=1 pf_case "pfx check clean" pf_s_repaired -c "$PF_C" check
    PF_TREE=1 pf_case "pfx check-warn" pf_s_broken -c "$PF_C" check-warn
    PF_TREE=1 pf_case "pfx check-fatal" pf_s_broken -c "$PF_C" check-fatal
    PF_TREE=1 pf_case "pfx start broken" pf_s_broken -c "$PF_C" start
    PF_TREE=1 pf_case "pfx set-permissions" pf_s_broken -c "$PF_C" set-permissions
    PF_TREE=1 pf_case "pfx set-permissions bad arg" pf_s_broken -c "$PF_C" set-permissions bogus
    PF_TREE=1 pf_case "pfx set-permissions bad user" pf_s_broken -c "$PF_C" set-permissions mail_owner=no-such-user
    PF_TREE=1 pf_case "pfx set-permissions whitespace" pf_s_broken -c "$PF_C" set-permissions "a=b c"

    # Upgrades of an old configuration.
    PF_C_SAVE=$PF_C
    PF_FILES="$PF_T/up/master.cf $PF_T/up/main.cf" PF_TREE=1 \
        pf_case "pfx upgrade-configuration" pf_s_old_conf -c "$PF_T/up" upgrade-configuration
    # postconf -e adds new names in hash order: main.cf compared sorted.
    PF_FILES="$PF_T/up/master.cf $PF_T/up/main.cf" PF_TREE=1 PF_SORT=main.cf \
        pf_case "pfx upgrade override" pf_s_old_conf_broken -c "$PF_T/up" upgrade-configuration sample_directory=/nowhere
    PF_FILES="$PF_T/up/master.cf $PF_T/up/main.cf" \
        pf_case "pfx upgrade reminder" pf_s_old_conf -c "$PF_T/up" upgrade-configuration first-install-reminder
    PF_FILES="$PF_T/up/master.cf" \
        pf_case "pfx check no postlog" pf_s_old_conf -c "$PF_T/up" check
    pf_case "pfx logrotate args" pf_s_stopped -c "$PF_C" logrotate now
    PF_LS=1 pf_case "pfx logrotate" pf_s_stopped -c "$PF_C" logrotate
    PF_LS=1 pf_case "pfx logrotate running" pf_s_running -c "$PF_C" logrotate
    PF_LS=1 pf_case "pfx logrotate bad compressor" pf_s_bad_compressor -c "$PF_C" logrotate

    # Stderr on a terminal.
    PF_TTY=1 pf_case "pfx tty status" pf_s_stopped -c "$PF_C" status
    PF_TTY=1 pf_case "pfx tty unknown" pf_s_stopped -c "$PF_C" bogus
    PF_TTY=1 pf_case "pfx tty relative -c" pf_s_stopped -c conf status
    PF_TTY=1 pf_case "pfx tty old compat" pf_s_stopped -c "$PF_T/oldcompat" status
    PF_TTY=1 pf_case "pfx tty check" pf_s_broken -c "$PF_C" check
    PF_TTY=1 PF_AS="setpriv --reuid=nobody --regid=nogroup --clear-groups" \
        pf_case "pfx tty not root" pf_s_stopped -c "$PF_C" status
    PF_AS="setpriv --reuid=nobody --regid=nogroup --clear-groups" \
        pf_case "pfx not root" pf_s_stopped -c "$PF_C" status

    pf_stop
    eval "$pf_old_trap"
fi
