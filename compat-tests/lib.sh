# lib.sh - differential test helpers: run a command under the reference
# Postfix and under our build, compare stdout, stderr, exit status (and
# files, where a case says so). Sourced by run-all.sh and the suites.
#
#   REF_SBIN   reference commands (default /usr/sbin)
#   OUR_SBIN   our commands (default out/sbin of this checkout)
#   CASE_FILTER  run only cases whose name contains this text
#   VERBOSE=1  show every diff in full

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
    run_side ref "$d/ref" "$@"
    run_side ours "$d/ours" "$@"
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
