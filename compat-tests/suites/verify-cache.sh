# verify-cache.sh - the verify(8) cache cleanup (address_verify_cache_cleanup_interval),
# ours against the reference's. Two private instances (the reference's
# daemons; ours with our verify swapped in) get the same persistent cache,
# an lmdb: table written here with fresh and expired, positive and
# negative entries, one probe in flight and one entry that does not parse.
# A connection to private/verify starts the daemon; its first cleanup run
# is due at once (no earlier run is recorded). Compared: the "cache ...
# full cleanup: retained=N dropped=N entries" log line and the entries
# left in the table (the run's time stamp masked).
#
# Needs root, the postfix user, the reference's lmdb support and our verify.

VC_T=$COMPAT_TMP/verify-cache
mkdir -p "$VC_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$VC_T"

vc_instance() {
    local s=$1 d=$VC_T/$1 now
    inst_dirs "$d"
    if [ "$s" = ref ]; then mixed_daemon_dir "$d/libexec"; else mixed_daemon_dir "$d/libexec" verify; fi
    inst_main_cf "$d" "$d/libexec"
    cat >>"$d/conf/main.cf" <<EOF
myhostname = mx.example.com
mydestination =
alias_maps =
alias_database =
address_verify_map = lmdb:$VC_T/cache-$s/verify_cache
address_verify_cache_cleanup_interval = 1h
EOF
    inst_master_cf "$d" verify postlog
    # The cache: OK and failed entries, fresh and long expired, a probe
    # in flight (probed now, updated long ago), and garbage.
    now=$(date +%s)
    rm -rf "$VC_T/cache-$s"; mkdir -p "$VC_T/cache-$s"
    printf '%s\n' "fresh@ok.example 0:$now:$now:250 2.1.5 Ok" "old@ok.example 0:1000:1000:250 2.1.5 Ok" \
        "neg@err.example 2:$now:$now:550 5.1.1 no such user" "oldneg@err.example 2:1000:1000:550 5.1.1 no such user" \
        "probing@ok.example 3:$now:1000:Address verification in progress" "junk@ok.example not an entry" \
        | "$REF_SBIN/postmap" -c "$d/conf" -i "lmdb:$VC_T/cache-$s/verify_cache"
    chown -R postfix "$VC_T/cache-$s"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

vc_run() {
    local s=$1 d=$VC_T/$1 i
    "$REF_SBIN/postfix" -c "$d/conf" start >/dev/null 2>&1 || { echo "cannot start the $s instance"; return 1; }
    for i in $(seq 1 50); do [ -S "$d/q/private/verify" ] && break; sleep 0.1; done
    # Any client starts the daemon; this one just goes away again.
    python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(100)' "$d/q/private/verify" 2>/dev/null
    for i in $(seq 1 50); do grep -q "cleanup: retained=" "$d/maillog" 2>/dev/null && break; sleep 0.1; done
    "$REF_SBIN/postfix" -c "$d/conf" stop >/dev/null 2>&1
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} \S+ //' -e 's/\[[0-9]+\]/[PID]/' -e "s#$VC_T/cache-$s/#CACHE/#" "$d/maillog" \
        | grep -a "postfix/verify"
    echo "--- left in the cache"
    "$REF_SBIN/postmap" -c "$d/conf" -s "lmdb:$VC_T/cache-$s/verify_cache" \
        | sed -E -e "s/^(_LAST_CACHE_CLEANUP_COMPLETED_\\s+)[0-9]+$/\\1STAMP/" -e "s/:[0-9]{6,}/:T/g" | LC_ALL=C sort
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || [ ! -x "$OUR_LIBEXEC/verify" ] || ! command -v python3 >/dev/null 2>&1 \
    || ! ls /usr/lib/postfix/postfix-lmdb.so* >/dev/null 2>&1; then
    echo "verify-cache: skipped: needs root, the postfix user, python3, lmdb tables and our verify"
else
    trap 'for s in ref ours; do "$REF_SBIN/postfix" -c "$VC_T/$s/conf" stop >/dev/null 2>&1; done; rm -rf "$COMPAT_TMP"' EXIT
    case verify-cache-cleanup in *"${CASE_FILTER:-}"*)
        for vc_s in ref ours; do
            vc_instance $vc_s
            vc_run $vc_s >"$VC_T/$vc_s.out" 2>&1
        done
        # The reference really cleaned up (three entries kept, three dropped).
        if grep -q "full cleanup: retained=3 dropped=3 entries" "$VC_T/ref.out"; then record verify-cache-cleanup-ref 1
        else echo "FAIL verify-cache-cleanup-ref"; sed 's/^/    /' "$VC_T/ref.out"; record verify-cache-cleanup-ref 0; fi
        compare_files verify-cache-cleanup "$VC_T/ref.out" "$VC_T/ours.out" ;;
    esac
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
