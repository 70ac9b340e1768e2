# lib.sh - differential test helpers: run a command under the reference
# Postfix and under our build, compare stdout, stderr, exit status (and
# files, where a case says so). Sourced by run-all.sh and the suites.
#
#   REF_SBIN   reference commands (default /usr/sbin)
#   OUR_SBIN   our commands (default out/sbin of this checkout)
#   CASE_FILTER  run only cases whose name contains this text
#   VERBOSE=1  show every diff in full
#   COMPARE_PARALLEL=1  compare runs the two sides at the same time (for
#              commands that change nothing: postcat)

REF_SBIN=${REF_SBIN:-/usr/sbin}
OUR_SBIN=${OUR_SBIN:-$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)/out/sbin}
REF_LIBEXEC=${REF_LIBEXEC:-/usr/lib/postfix/sbin}
OUR_LIBEXEC=${OUR_LIBEXEC:-$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)/out/libexec/postfix}
COMPAT_TMP=${COMPAT_TMP:-$(mktemp -d /tmp/compat.XXXXXX)}
PASS=${PASS:-0}
FAIL=${FAIL:-0}
FAILED_NAMES=${FAILED_NAMES:-}

# normalize FILE - host- and run-dependent text made comparable. The pids
# of both sides of the case are replaced in either side's output, so that
# a pid that happens to equal a number in the output (say 1000) is
# replaced the same way on both sides.
normalize() {
    local pid= other= sides
    sides=$(dirname "$(dirname "$1")")
    [ -f "$(dirname "$1")/pid" ] && pid=$(cat "$(dirname "$1")/pid")
    [ -f "$sides/ref/pid" ] && [ "$sides/ref" != "$(dirname "$1")" ] && other=$(cat "$sides/ref/pid")
    [ -f "$sides/ours/pid" ] && [ "$sides/ours" != "$(dirname "$1")" ] && other=$(cat "$sides/ours/pid")
    sed -e 's/^process_id = [0-9]*$/process_id = PID/' \
        -e "${pid:+s/\\b$pid\\b/PID/g}" \
        -e "${other:+s/\\b$other\\b/PID/g}" \
        -e "s#$REF_SBIN/##g; s#$OUR_SBIN/##g" \
        -e "s#$COMPAT_TMP#TMP#g" "$1"
}

# run_side SIDE OUTDIR PROG ARGS... - run PROG from SIDE's sbin, capture all.
run_side() {
    local side=$1 out=$2 prog=$3; shift 3
    local dir
    if [ "$side" = ref ]; then dir=$REF_SBIN; else dir=$OUR_SBIN; fi
    mkdir -p "$out"
    # exec in a background subshell: $! is then the program's own PID,
    # which normalize() replaces (process_id, $process_id in values).
    ( cd "${CASE_CWD:-$COMPAT_TMP}" && exec "$dir/$prog" "$@" ) >"$out/stdout" 2>"$out/stderr" </"${CASE_STDIN:-/dev/null}" &
    local pid=$!
    wait "$pid"
    echo $? >"$out/status"
    echo "$pid" >"$out/pid"
}

# compare NAME PROG ARGS... - run both sides, compare, count, report.
compare() {
    local name=$1; shift
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local d="$COMPAT_TMP/cases/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')"
    rm -rf "$d"; mkdir -p "$d"
    age_confdirs "$@"
    if [ -n "${COMPARE_PARALLEL:-}" ]; then
        # Both sides at once (a suite of read-only commands sets this: a
        # fatal error costs each side a one-second pause).
        local ref_pid
        run_side ref "$d/ref" "$@" &
        ref_pid=$!
        run_side ours "$d/ours" "$@"
        wait "$ref_pid"
    else
        run_side ref "$d/ref" "$@"
        run_side ours "$d/ours" "$@"
    fi
    local ok=1 f
    # postconf walks its tables in hash order, randomized per process by
    # the reference (hash_fnv seed): its warnings are compared as a set.
    local sort_err=${SORT_STDERR:-}
    [ "$1" = postconf ] && sort_err=1
    for f in stdout stderr status; do
        normalize "$d/ref/$f" >"$d/ref/$f.n"
        normalize "$d/ours/$f" >"$d/ours/$f.n"
        if [ "$f" = stderr ] && [ -n "$sort_err" ]; then
            LC_ALL=C sort -o "$d/ref/$f.n" "$d/ref/$f.n"
            LC_ALL=C sort -o "$d/ours/$f.n" "$d/ours/$f.n"
        fi
        if ! cmp -s "$d/ref/$f.n" "$d/ours/$f.n"; then
            ok=0
            echo "FAIL $name ($f differs: $*)"
            diff -u "$d/ref/$f.n" "$d/ours/$f.n" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        fi
    done
    record "$name" $ok
}

# compare_files NAME FILE_REF FILE_OURS - byte comparison of produced files.
compare_files() {
    local name=$1 a=$2 b=$3
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    if cmp -s "$a" "$b"; then
        record "$name" 1
    else
        echo "FAIL $name (files differ)"
        diff -u "$a" "$b" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        record "$name" 0
    fi
}

# age_confdirs ARGS... - backdate the files of a "-c DIR" (or MAIL_CONFIG)
# directory: Postfix re-reads a main.cf changed in the last second until it
# cools down, which makes warnings repeat a timing-dependent number of times.
age_confdirs() {
    local prev= a dir
    for a in "$@" "-c" "${MAIL_CONFIG:-}"; do
        if [ "$prev" = -c ] || [ "$prev" = -C ]; then
            dir=$a
            [ -d "$dir" ] && find "$dir" -maxdepth 1 -type f -exec touch -d '1 minute ago' {} + 2>/dev/null
        fi
        prev=$a
    done
    return 0
}

record() {
    if [ "$2" = 1 ]; then
        PASS=$((PASS + 1))
        [ -n "${VERBOSE:-}" ] && echo "ok   $1"
    else
        FAIL=$((FAIL + 1))
        FAILED_NAMES="$FAILED_NAMES $1"
    fi
    return 0
}

# new_confdir [MAIN_CF_SOURCE [MASTER_CF_SOURCE]] - fresh config dir, path on stdout.
new_confdir() {
    local d
    d=$(mktemp -d "$COMPAT_TMP/conf.XXXXXX")
    if [ -n "${1:-}" ]; then cp "$1" "$d/main.cf"; else : >"$d/main.cf"; fi
    if [ -n "${2:-}" ]; then cp "$2" "$d/master.cf"; fi
    echo "$d"
}

# mixed_daemon_dir DIR NAME... - a daemon_directory of links to the
# reference daemons, except the NAMEs, which link to ours.
mixed_daemon_dir() {
    local dir=$1 f n; shift
    mkdir -p "$dir"
    for f in "$REF_LIBEXEC"/*; do ln -sf "$f" "$dir/$(basename "$f")"; done
    for n in "$@"; do ln -sf "$OUR_LIBEXEC/$n" "$dir/$n"; done
}

# Throwaway instances. A suite's instance is a directory with conf/, q/
# (the queue) and data/; these helpers hold what every suite repeated.
#
# inst_dirs DIR - a fresh DIR/conf, DIR/data (owned by postfix) and DIR/q
#     with the complete queue tree; DIR made reachable by user postfix.
# inst_main_cf DIR DAEMON_DIR [LINE...] - DIR/conf/main.cf: the instance's
#     paths and log, loopback only, compatibility_level 3.6, then LINEs.
# inst_queue QUEUE_DIR - the queue tree of /etc/postfix/postfix-files
#     (what "postfix post-install create-missing" makes), made in
#     QUEUE_DIR where missing.
# inst_start CONF_DIR [SBIN] - postfix start (SBIN's postfix, default the
#     reference's) with a quick-start file: the integrity checks (a
#     post-install create-missing, postsuper and find runs: a second or
#     more each time) are left out; inst_queue made what they would.
# inst_stop CONF_DIR - what "postfix stop" does (SIGTERM to the master of
#     the pid file), without its one-second sleeps and its log line: the
#     master's exit is polled (5 s at most, then SIGKILL).
inst_dirs() {
    local d=$1
    rm -rf "$d"; mkdir -p "$d/conf" "$d/data"
    chown postfix "$d/data"
    chmod 755 "$d"
    chmod 711 "$COMPAT_TMP"
    inst_queue "$d/q"
}

inst_main_cf() {
    local d=$1 daemons=$2 line; shift 2
    {
        echo "queue_directory = $d/q"
        echo "data_directory = $d/data"
        echo "daemon_directory = $daemons"
        echo "maillog_file = $d/maillog"
        echo "maillog_file_prefixes = $d"
        echo "compatibility_level = 3.6"
        echo "inet_interfaces = loopback-only"
        echo "inet_protocols = ipv4"
        for line in "$@"; do echo "$line"; done
    } >"$d/conf/main.cf"
}

inst_queue() {
    local q=$1 path owner group mode
    mkdir -p "$q"
    while IFS=: read -r path _ owner group mode _; do
        [ -d "$q/$path" ] && continue
        case $owner in '$mail_owner') owner=postfix;; esac
        case $group in '-') group=root;; '$setgid_group') group=postdrop;; esac
        install -d -o "$owner" -g "$group" -m "$mode" "$q/$path"
    done < <(sed -n 's#^\$queue_directory/\([^:]*\):d:#\1:d:#p' /etc/postfix/postfix-files)
}

inst_queue_dir() {
    sed -n 's/^queue_directory[ \t]*=[ \t]*//p' "$1/main.cf" 2>/dev/null | tail -n 1
}

inst_start() {
    local q
    q=$(inst_queue_dir "$1")
    [ -n "$q" ] || { "${2:-$REF_SBIN}/postfix" -c "$1" start; return; }
    inst_queue "$q"
    touch "$q/quick-start"
    "${2:-$REF_SBIN}/postfix" -c "$1" start
}

inst_stop() {
    local q pid i
    q=$(inst_queue_dir "$1")
    [ -n "$q" ] || return 0
    pid=$(tr -d ' ' 2>/dev/null <"$q/pid/master.pid")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = master ] || return 0
    kill -TERM "$pid" 2>/dev/null
    # (A zombie counts as gone: init may take its time to reap it.)
    for i in $(seq 1 100); do
        case $(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) in ''|Z) return 0;; esac
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null
    return 0
}

# inst_wait_port PORT - wait (10 s at most) until something listens on
# 127.0.0.1:PORT; false if nothing does.
inst_wait_port() {
    local i
    for i in $(seq 1 100); do
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

# attrprobe_wait - run-all.sh builds src/attrprobe once for the suites that
# use it (ATTRPROBE; ATTRPROBE_BUILD is its build directory): wait for that
# build (5 minutes at most). If it failed, ATTRPROBE is emptied and the
# suite builds the probe itself (and reports why it does not build).
attrprobe_wait() {
    [ -n "${ATTRPROBE_BUILD:-}" ] || return 0
    local i
    for i in $(seq 1 3000); do
        [ -f "$ATTRPROBE_BUILD/status" ] && break
        sleep 0.1
    done
    [ "$(cat "$ATTRPROBE_BUILD/status" 2>/dev/null)" = 0 ] && [ -x "${ATTRPROBE:-}" ] || ATTRPROBE=
    return 0
}

# sides_case PREFIX NAME DIR A B SHELL_TEXT... - one case on two sides:
# SHELL_TEXT is evaluated with S=A, then with S=B (output and exit status
# kept in DIR/cases/NAME/A and .../B), and the two compared as PREFIX-NAME.
sides_case() {
    local _sc_prefix=$1 _sc_name=$2 _sc_out=$3/cases/$2 _sc_a=$4 _sc_b=$5
    shift 5
    case "$_sc_name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    mkdir -p "$_sc_out"
    S=$_sc_a; eval "$*" >"$_sc_out/$_sc_a" 2>&1; echo "status $?" >>"$_sc_out/$_sc_a"
    S=$_sc_b; eval "$*" >"$_sc_out/$_sc_b" 2>&1; echo "status $?" >>"$_sc_out/$_sc_b"
    compare_files "$_sc_prefix-$_sc_name" "$_sc_out/$_sc_a" "$_sc_out/$_sc_b"
}

# queue_settled QUEUE_DIR [TRIES] - wait (TRIES steps of 0.2 s, default
# 150) until the queue's maildrop, incoming and active are empty.
queue_settled() {
    local i
    for i in $(seq 1 "${2:-150}"); do
        [ -z "$(find "$1/maildrop" "$1/incoming" "$1/active" -type f 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    return 1
}

# inst_master_cf DIR SERVICE... - DIR/conf/master.cf with the usual
# entries of the named services (no chroot), in the order given.
inst_master_cf() {
    local d=$1 s; shift
    for s in "$@"; do
        case $s in
            pickup)   echo "pickup    unix  n       -       n       60      1       pickup" ;;
            cleanup)  echo "cleanup   unix  n       -       n       -       0       cleanup" ;;
            qmgr)     echo "qmgr      unix  n       -       n       300     1       qmgr" ;;
            rewrite)  echo "rewrite   unix  -       -       n       -       -       trivial-rewrite" ;;
            bounce|defer|trace) printf '%-9s unix  -       -       n       -       0       bounce\n' "$s" ;;
            verify)   echo "verify    unix  -       -       n       -       1       verify" ;;
            showq)    echo "showq     unix  n       -       n       -       -       showq" ;;
            error|retry) printf '%-9s unix  -       -       n       -       -       error\n' "$s" ;;
            discard)  echo "discard   unix  -       -       n       -       -       discard" ;;
            local)    echo "local     unix  -       n       n       -       -       local" ;;
            virtual)  echo "virtual   unix  -       n       n       -       -       virtual" ;;
            lmtp)     echo "lmtp      unix  -       -       n       -       -       lmtp" ;;
            flush)    echo "flush     unix  n       -       n       1000?   0       flush" ;;
            proxymap) echo "proxymap  unix  -       -       n       -       -       proxymap" ;;
            anvil)    echo "anvil     unix  -       -       n       -       1       anvil" ;;
            postlog)  echo "postlog   unix-dgram n  -       n       -       1       postlogd" ;;
            *) echo "inst_master_cf: no usual entry for $s" >&2; return 1 ;;
        esac
    done >"$d/conf/master.cf"
}
