# flush.sh - our flush(8) against the reference's: two private instances
# (the reference master, one with our flush in its daemon_directory),
# the same fast flush requests sent to public/flush of each (attrprobe
# for add/send_site/send_file/rfrsh/purge and malformed requests, the
# reference postqueue -s and -i as real clients), then the replies, the
# per-site logfiles in $queue_directory/flush, the queue files that
# were moved from deferred to incoming (with their modes) and flush's
# log lines must be equal.

FL_T=$COMPAT_TMP/flush
mkdir -p "$FL_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$FL_T"

fl_instance() {
    local n=$1; shift
    local d=$FL_T/$n
    inst_dirs "$d"
    mixed_daemon_dir "$d/libexec" "$@"
    inst_main_cf "$d" "$d/libexec" "myhostname = host.example.com" "mydomain = example.com" "mydestination =" \
        "relay_domains = example.com, sub.example.org, [10.1.2.3], .dot.example" "fast_flush_purge_time = 1s"
    inst_master_cf "$d" flush postlog
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
    inst_start "$d/conf" >/dev/null 2>&1
    # Deferred mail to flush (the content does not matter to flush).
    local id
    for id in ABC1230001 ABC1230002 ABC1230003 ABC1230004 ABC1230005 BCD1230006 BCD1230007 BCD1230008; do
        mkdir -p "$d/q/deferred/${id:0:1}"
        echo "queue file $id" >"$d/q/deferred/${id:0:1}/$id"
        chmod 700 "$d/q/deferred/${id:0:1}/$id"
    done
    chmod 600 "$d/q/deferred/B/BCD1230008"     # not ready: send_file leaves its mode
    chown -R postfix "$d/q/deferred"
}

fl_req() {
    local n=$1; shift
    echo "> $*"
    MAIL_CONFIG=$FL_T/$n/conf "$FL_PROBE" flush-request "$@" 2>&1 | sed "s#$FL_T/$n#INST#g"
}

# fl_state N - the logfiles and the queue files, with modes.
fl_state() {
    local q=$FL_T/$1/q f
    (cd "$q" && find flush deferred incoming -type f -printf '%p %m\n' 2>/dev/null | sort)
    for f in $(cd "$q" && find flush -type f | sort); do echo "== $f"; cat "$q/$f"; done
}

fl_log() {
    sed -n -e 's#^.*postfix/flush\[[0-9]*\]: ##p' "$FL_T/$1/maillog" 2>/dev/null | sed -e "s#$FL_T/$1#INST#g" \
        -e 's/^\(warning: end-of-input while reading request from .*\): .*/\1: ERRNO/' | sort
}

fl_script() {
    local n=$1
    fl_req "$n" add site=example.com queue_id=ABC1230001
    fl_req "$n" add site=Example.COM queue_id=ABC1230002
    fl_req "$n" add site=example.com queue_id=ABC1230001
    fl_req "$n" add site=example.com queue_id=NOSUCH0001
    fl_req "$n" add site=x.sub.example.org queue_id=BCD1230006
    fl_req "$n" add site=a.dot.example queue_id=BCD1230007
    fl_req "$n" add site=dot.example queue_id=BCD1230007
    fl_req "$n" add site=other.example queue_id=ABC1230003
    fl_req "$n" add site=example.com queue_id=bad-id
    fl_req "$n" add site=example.com
    fl_req "$n" add site=[10.1.2.3] queue_id=ABC1230004
    fl_req "$n" add site=exa_mple.com queue_id=ABC1230004
    fl_req "$n" add site=ex.sub.example.org queue_id=ABC1230005
    echo "-- after add"; fl_state "$n"
    fl_req "$n" send_file queue_id=ABC1230003
    fl_req "$n" send_file queue_id=BCD1230008
    fl_req "$n" send_file queue_id=NOSUCH0002
    fl_req "$n" send_file queue_id=bad/id
    fl_req "$n" send_site site=other.example
    fl_req "$n" bogus
    fl_req "$n" send_site site=Example.Com
    echo "-- after send"; fl_state "$n"
    echo "> postqueue -s x.sub.example.org"
    "$REF_SBIN/postqueue" -c "$FL_T/$n/conf" -s x.sub.example.org 2>&1; echo "exit $?"
    echo "> postqueue -s nowhere.example"
    "$REF_SBIN/postqueue" -c "$FL_T/$n/conf" -s nowhere.example 2>&1 | sed "s#$FL_T/$n#INST#g"; echo "exit ${PIPESTATUS[0]}"
    echo "> postqueue -i BCD1230007"
    "$REF_SBIN/postqueue" -c "$FL_T/$n/conf" -i BCD1230007 2>&1; echo "exit $?"
    echo "-- after postqueue"; fl_state "$n"
    sleep 2
    fl_req "$n" rfrsh
    sleep 1
    echo "-- after rfrsh"; fl_state "$n"
    fl_req "$n" purge
    sleep 1
    echo "-- after purge"; fl_state "$n"
}

fl_stop() {
    local n
    for n in ref ours; do inst_stop "$FL_T/$n/conf"; done
    return 0
}

if [ "$(id -u)" != 0 ] || [ ! -x "$OUR_LIBEXEC/flush" ]; then
    echo "flush: skipped: needs root and our daemons ($OUR_LIBEXEC)"
else
    attrprobe_wait
    FL_PROBE=${ATTRPROBE:-}
    if [ -z "$FL_PROBE" ]; then
        dotnet build "$here/../src/attrprobe/attrprobe.csproj" --artifacts-path "$COMPAT_TMP/flush-probe" --nologo -v quiet \
            -clp:ErrorsOnly >/dev/null 2>&1
        FL_PROBE=$COMPAT_TMP/flush-probe/bin/attrprobe/debug/attrprobe
    fi
    trap 'fl_stop; rm -rf "$COMPAT_TMP"' EXIT
    fl_instance ref
    fl_instance ours flush
    for fl_n in ref ours; do fl_script "$fl_n" >"$FL_T/$fl_n.out"; done
    fl_stop
    compare_files flush-requests "$FL_T/ref.out" "$FL_T/ours.out"
    for fl_n in ref ours; do fl_log "$fl_n" >"$FL_T/$fl_n.log"; done
    compare_files flush-log "$FL_T/ref.log" "$FL_T/ours.log"
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
