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

dovecot_auth_start() {
    local dir=$1 sock=${2:-$1/auth-client} i u
    shift 2 2>/dev/null || shift $#
    [ $# -gt 0 ] || set -- test:secret other:pw2
    rm -rf "$dir/run"; mkdir -p "$dir/run"
    chmod 755 "$dir" "$dir/run"
    : >"$dir/users"
    for u in "$@"; do
        echo "${u%%:*}:{PLAIN}${u#*:}::::::" >>"$dir/users"
    done
    chmod 644 "$dir/users"
    cat >"$dir/dovecot.conf" <<EOC
protocols =
base_dir = $dir/run
state_dir = $dir/run
instance_name = dovecot-test-$$
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
ssl = no
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
    # The client socket where the test wants it.
    cat >>"$dir/dovecot.conf" <<EOC
service auth {
  unix_listener $sock {
    mode = 0666
  }
}
EOC
    /usr/sbin/dovecot -c "$dir/dovecot.conf" -F >>"$dir/dovecot.out" 2>&1 &
    echo $! >"$dir/dovecot.pid"
    # Dovecot delays the requests from a client address that failed
    # before (the auth penalty, kept by its anvil): tests fail on purpose,
    # from 127.0.0.1 every time. The auth process starts on the first
    # client; when it finds no penalty socket then, it applies no penalty.
    for i in $(seq 1 100); do
        [ -S "$sock" ] && [ -S "$dir/run/anvil-auth-penalty" ] && break
        sleep 0.1
    done
    rm -f "$dir/run/anvil-auth-penalty"
    for i in $(seq 1 100); do
        if [ -S "$sock" ] && python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sock" 2>/dev/null; then
            return 0
        fi
        kill -0 "$(cat "$dir/dovecot.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "dovecot-auth: Dovecot did not start (see $dir/dovecot.log, $dir/dovecot.out)" >&2
    cat "$dir/dovecot.out" "$dir/dovecot.log" >&2 2>/dev/null
    dovecot_auth_stop "$dir"
    return 1
}

dovecot_auth_stop() {
    local dir=$1 pid i
    pid=$(cat "$dir/dovecot.pid" 2>/dev/null) || return 0
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    rm -f "$dir/dovecot.pid"
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case ${1:-} in
        start) shift; dovecot_auth_start "$@" ;;
        stop) shift; dovecot_auth_stop "$@" ;;
        *) echo "usage: $0 start DIR [SOCKET [USER:PASS...]] | stop DIR" >&2; exit 2 ;;
    esac
fi
