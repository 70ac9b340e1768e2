# table-lib.sh - the helpers of the table-building suites (postmap.sh,
# postalias.sh): sourced after lib.sh. Build cases copy a source file into
# two fresh directories (ref/, ours/), run each program in its own
# directory with relative names (so messages match), and compare stdout,
# stderr and status; follow-up commands run in the same directories.
# PM_CONF and PM_CONF_UTF8 are the configuration directories the cases use.

PM_CONF=$(new_confdir)
PM_CONF_UTF8=$(new_confdir)
echo "compatibility_level = 3.6" >"$PM_CONF_UTF8/main.cf"

# pm_side SIDE DIR PROG ARGS... - run in DIR/SIDE, capture into DIR/SIDE.out
pm_side() {
    local side=$1 d=$2 prog=$3; shift 3
    local bin
    if [ "$side" = ref ]; then bin=$REF_SBIN/$prog; else bin=$OUR_SBIN/$prog; fi
    [ "$prog" = true ] && bin=true
    mkdir -p "$d/$side.out"
    ( cd "$d/$side" && "$bin" "$@" ) >"$d/$side.out/stdout" 2>"$d/$side.out/stderr" <"${PM_STDIN:-/dev/null}"
    echo $? >"$d/$side.out/status"
}

# pm_norm FILE - comparable text (hash: file names, optional sort).
pm_norm() {
    sed -e "s#$COMPAT_TMP#TMP#g" ${PM_SED:+-e "$PM_SED"} "$1" | if [ -n "${PM_SORT:-}" ]; then LC_ALL=C sort; else cat; fi
}

pm_check() {
    local name=$1 d=$2 ok=1 f
    for f in stdout stderr status; do
        pm_norm "$d/ref.out/$f" >"$d/ref.out/$f.n"
        pm_norm "$d/ours.out/$f" >"$d/ours.out/$f.n"
        if ! cmp -s "$d/ref.out/$f.n" "$d/ours.out/$f.n"; then
            ok=0
            echo "FAIL $name ($f differs)"
            diff -u "$d/ref.out/$f.n" "$d/ours.out/$f.n" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        fi
    done
    record "$name" $ok
}

# pm_case NAME SRC PROG ARGS... - fresh dirs with SRC copied as "src", run both.
pm_case() {
    local name=$1 src=$2; shift 2
    PM_DIR="$COMPAT_TMP/pm/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')"
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) PM_DIR=; return 0;; esac
    rm -rf "$PM_DIR"; mkdir -p "$PM_DIR/ref" "$PM_DIR/ours"
    if [ -n "$src" ]; then
        cp "$src" "$PM_DIR/ref/src"; cp "$src" "$PM_DIR/ours/src"
        # An old source: texthash re-reads files changed in the last second.
        touch -d '2 hours ago' "$PM_DIR/ref/src" "$PM_DIR/ours/src"
    fi
    pm_side ref "$PM_DIR" "$@"; pm_side ours "$PM_DIR" "$@"
    pm_check "$name" "$PM_DIR"
}

# pm_then NAME PROG ARGS... - another command in the directories of the last pm_case.
pm_then() {
    [ -n "${PM_DIR:-}" ] || return 0
    local name=$1; shift
    pm_side ref "$PM_DIR" "$@"; pm_side ours "$PM_DIR" "$@"
    pm_check "$name" "$PM_DIR"
}

# pm_mode NAME FILE - the built files have the same permissions.
pm_mode() {
    [ -n "${PM_DIR:-}" ] || return 0
    local a b
    a=$(stat -c %a "$PM_DIR/ref/$1" 2>&1); b=$(stat -c %a "$PM_DIR/ours/$1" 2>&1)
    if [ "$a" = "$b" ]; then record "$2" 1; else echo "FAIL $2 (mode $a vs $b)"; record "$2" 0; fi
}

# pm_cross NAME MAP - the reference reads the lmdb table we built (and the
# other way round): dumps and lookups must equal each side's own.
pm_cross() {
    [ -n "${PM_DIR:-}" ] || return 0
    local name=$1 map=$2 ok=1
    ( cd "$PM_DIR/ours" && "$REF_SBIN/postmap" -c "$PM_CONF" -s "$map" ) >"$PM_DIR/x1" 2>&1
    ( cd "$PM_DIR/ref" && "$REF_SBIN/postmap" -c "$PM_CONF" -s "$map" ) >"$PM_DIR/x2" 2>&1
    ( cd "$PM_DIR/ref" && "$OUR_SBIN/postmap" -c "$PM_CONF" -s "$map" ) >"$PM_DIR/x3" 2>&1
    local x
    for x in x1 x2 x3; do pm_norm "$PM_DIR/$x" >"$PM_DIR/$x.n"; mv "$PM_DIR/$x.n" "$PM_DIR/$x"; done
    if ! cmp -s "$PM_DIR/x1" "$PM_DIR/x2" || ! cmp -s "$PM_DIR/x2" "$PM_DIR/x3"; then
        ok=0
        echo "FAIL $name (cross-read dumps differ)"
        diff -u "$PM_DIR/x2" "$PM_DIR/x1" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        diff -u "$PM_DIR/x2" "$PM_DIR/x3" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
    fi
    record "$name" $ok
}
