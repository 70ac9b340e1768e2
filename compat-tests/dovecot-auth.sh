#!/bin/bash
# dovecot-auth.sh - a private Dovecot auth service for SASL tests: no mail
# protocols, a passwd-file with test users, one client socket.
#
#   dovecot-auth.sh start DIR [SOCKET_PATH [USER:PASSWORD...]]
#       write DIR/dovecot.conf and DIR/users, start /usr/sbin/dovecot -F in
#       the background (pid in DIR/dovecot.pid), wait (10 s max) until
#       SOCKET_PATH (default DIR/auth-client) accepts connections. Users
#       default to test:secret and other:pw2. The socket is mode 0666.
#   dovecot-auth.sh stop DIR
#       stop that Dovecot by its PID and wait for it.
#
# Or source it and call dovecot_auth_start / dovecot_auth_stop with the same
# arguments. Needs root (Dovecot drops to its own users). The log is
# DIR/dovecot.log. DIR and its parents must be reachable by the dovenull
# and dovecot users (mode 0711 or more).

# The pieces every test Dovecot shares (lmtp-dovecot.sh uses them too):
#   dovecot_conf_common DIR NAME - the settings of a private Dovecot below
#       DIR (runtime and state in DIR/run, log DIR/dovecot.log, no SSL,
#       anvil without chroot, private stats sockets), on stdout.
#   dovecot_run DIR READY_COMMAND... - start /usr/sbin/dovecot -c
#       DIR/dovecot.conf -F in the background (pid in DIR/dovecot.pid) and
#       wait (10 s max) until READY_COMMAND succeeds; if it never does, show
#       the logs, stop that Dovecot and fail.
#   dovecot_stop DIR - stop that Dovecot by its PID and wait for it.
dovecot_conf_common() {
    cat <<EOC
base_dir = $1/run
state_dir = $1/run
instance_name = $2-$$
log_path = $1/dovecot.log
info_log_path = $1/dovecot.log
ssl = no
service anvil {
  chroot =
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
EOC
}

dovecot_run() {
    local dir=$1 i; shift
    /usr/sbin/dovecot -c "$dir/dovecot.conf" -F >>"$dir/dovecot.out" 2>&1 &
    echo $! >"$dir/dovecot.pid"
    for i in $(seq 1 100); do
        "$@" 2>/dev/null && return 0
        kill -0 "$(cat "$dir/dovecot.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "dovecot: Dovecot did not start (see $dir/dovecot.log, $dir/dovecot.out)" >&2
    cat "$dir/dovecot.out" "$dir/dovecot.log" >&2 2>/dev/null
    dovecot_stop "$dir"
    return 1
}

dovecot_stop() {
    local dir=$1 pid i
    pid=$(cat "$dir/dovecot.pid" 2>/dev/null) || return 0
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    rm -f "$dir/dovecot.pid"
    return 0
}

dovecot_auth_start() {
    local dir=$1 sock=${2:-$1/auth-client} u
    shift 2 2>/dev/null || shift $#
    [ $# -gt 0 ] || set -- test:secret other:pw2
    rm -rf "$dir/run"; mkdir -p "$dir/run"
    chmod 755 "$dir" "$dir/run"
    : >"$dir/users"
    for u in "$@"; do
        echo "${u%%:*}:{PLAIN}${u#*:}::::::" >>"$dir/users"
    done
    chmod 644 "$dir/users"
    {
        echo "protocols ="
        dovecot_conf_common "$dir" dovecot-test
        cat <<EOC
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dir/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener auth-userdb {
    mode = 0600
  }
}
# The client socket where the test wants it.
service auth {
  unix_listener $sock {
    mode = 0666
  }
}
EOC
    } >"$dir/dovecot.conf"
    dovecot_run "$dir" test -S "$sock" || return 1
    # Dovecot delays the requests from a client address that failed
    # before (the auth penalty, kept by its anvil): tests fail on purpose,
    # from 127.0.0.1 every time. The auth process starts on the first
    # client; when it finds no penalty socket then, it applies no penalty.
    local i
    for i in $(seq 1 100); do
        [ -S "$dir/run/anvil-auth-penalty" ] && break
        sleep 0.1
    done
    rm -f "$dir/run/anvil-auth-penalty"
    for i in $(seq 1 100); do
        python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sock" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "dovecot-auth: the auth socket $sock does not answer (see $dir/dovecot.log)" >&2
    dovecot_stop "$dir"
    return 1
}

dovecot_auth_stop() { dovecot_stop "$@"; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case ${1:-} in
        start) shift; dovecot_auth_start "$@" ;;
        stop) shift; dovecot_auth_stop "$@" ;;
        *) echo "usage: $0 start DIR [SOCKET [USER:PASS...]] | stop DIR" >&2; exit 2 ;;
    esac
fi
