# trivial-rewrite.sh - the rewrite service of our trivial-rewrite(8)
# against the reference's: two private instances (the reference master,
# one with our trivial-rewrite in its daemon_directory), the same
# rewrite requests sent by attrprobe to private/rewrite of each, under
# several main.cf settings (myorigin, mydomain, append_at_myorigin,
# append_dot_mydomain, swap_bangpath, allow_percent_hack,
# remote_header_rewrite_domain). Then the reference cleanup and pickup
# use our trivial-rewrite for real mail: the queue file must equal the
# one made with the reference's trivial-rewrite.

TR_T=$COMPAT_TMP/trw
mkdir -p "$TR_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$TR_T"

tr_instance() {
    local n=$1; shift
    local d=$TR_T/$n
    rm -rf "$d"; mkdir -p "$d/conf" "$d/q" "$d/data"
    chown postfix "$d/data"
    mixed_daemon_dir "$d/libexec" "$@"
    {
        echo "queue_directory = $d/q"
        echo "data_directory = $d/data"
        echo "daemon_directory = $d/libexec"
        echo "maillog_file = $d/maillog"
        echo "maillog_file_prefixes = $d"
        echo "compatibility_level = 3.6"
        echo "inet_interfaces = loopback-only"
        echo "inet_protocols = ipv4"
        echo "myhostname = host.example.com"
        echo "mydomain = example.com"
        echo "mydestination ="
    } >"$d/conf/main.cf"
    cat >"$d/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

TR_ADDRS=(joe joe@host 'joe@host.' 'joe@host.sub' 'joe@[127.0.0.1]' '@a:x@b' '@a,@b:x@c' 'foo bar' '"foo bar"' '"x y"@host'
    '<joe>' 'a!b' 'a!b!c' 'a!b@c' 'user%dom' 'user%dom@host' 'u%v%w' 'joe@localhost' 'User@LocalHost' 'user@' '@' '""'
    'a.b.c' 'joe.' 'j..oe' '.joe' 'joe@a..b' 'joe@.' 'x(comment)@y' 'x\@y' 'a\"b' 'jöe' 'joe@exämple' 'a:b' 'a;b@c'
    'q"uote' '[1.2.3.4]' 'joe@[ipv6:::1]')

tr_probe() {
    local n=$1 ctx=$2
    MAIL_CONFIG=$TR_T/$n/conf "$TR_PROBE" rewrite "$ctx" "${TR_ADDRS[@]}" 2>&1 | sed "s#$TR_T/$n#INST#g"
}

tr_case() {
    local name=$1; shift
    local n x
    for n in ref ours; do
        tr_instance "$n" $([ "$n" = ours ] && echo trivial-rewrite)
        for x in "$@"; do "$REF_SBIN/postconf" -c "$TR_T/$n/conf" -e "$x"; done
        find "$TR_T/$n/conf" -type f -exec touch -d '1 minute ago' {} +
        "$REF_SBIN/postfix" -c "$TR_T/$n/conf" start >/dev/null 2>&1
    done
    for ctx in local remote; do
        tr_probe ref "$ctx" >"$TR_T/ref.$name.$ctx"
        tr_probe ours "$ctx" >"$TR_T/ours.$name.$ctx"
        compare_files "trivial-rewrite-$name-$ctx" "$TR_T/ref.$name.$ctx" "$TR_T/ours.$name.$ctx"
    done
}

tr_stop() {
    local n
    for n in ref ours; do "$REF_SBIN/postfix" -c "$TR_T/$n/conf" stop >/dev/null 2>&1; done
    return 0
}

if [ "$(id -u)" != 0 ] || [ ! -x "$OUR_LIBEXEC/trivial-rewrite" ]; then
    echo "trivial-rewrite: skipped: needs root and our daemons ($OUR_LIBEXEC)"
else
    TR_PROBE=${ATTRPROBE:-}
    if [ -z "$TR_PROBE" ]; then
        dotnet build "$(dirname "$OUR_SBIN")/../src/attrprobe/attrprobe.csproj" --artifacts-path "$COMPAT_TMP/trw-probe" \
            --nologo -v quiet -clp:ErrorsOnly >/dev/null 2>&1 \
            || dotnet build "$here/../src/attrprobe/attrprobe.csproj" --artifacts-path "$COMPAT_TMP/trw-probe" --nologo -v quiet -clp:ErrorsOnly >/dev/null 2>&1
        TR_PROBE=$COMPAT_TMP/trw-probe/bin/attrprobe/debug/attrprobe
    fi
    trap 'tr_stop; rm -rf "$COMPAT_TMP"' EXIT
    tr_case defaults
    tr_stop
    tr_case origin "myorigin = example.org" "remote_header_rewrite_domain = rw.example.net" "swap_bangpath = no" "allow_percent_hack = yes"
    tr_stop
    tr_case no-append "append_at_myorigin = no" "append_dot_mydomain = no" "mydomain = example" "myorigin = \$mydomain"
    # Real mail through the reference cleanup, with our trivial-rewrite.
    for tr_n in ref ours; do
        printf 'From: joe\nTo: bob, "x y"@host, a!b\nSubject: rw\n\nbody\n' \
            | "$REF_SBIN/sendmail" -C "$TR_T/$tr_n/conf" -f joe@host bob@host 'c!d'
    done
    sleep 2
    for tr_n in ref ours; do
        f=$(find "$TR_T/$tr_n/q/incoming" -type f | head -1)
        if [ -n "$f" ]; then
            # The content offset in message_size depends on the queue ID's
            # length (10 or 11 characters, by inode number): not compared.
            "$REF_SBIN/postcat" -c "$TR_T/$tr_n/conf" -q "$(basename "$f")" 2>&1 | sed -E -e 's/[0-9A-F]{10,12}/QID/g' \
                -e 's/^(message_size: +[0-9]+) +[0-9]+/\1 OFFSET/' \
                -e '/^\*\*\* ENVELOPE RECORDS/d' -e 's/^(message_arrival_time|create_time): .*/\1: T/' \
                -e 's/^Received: .*/Received: X/' -e 's/^\t(by|id|for) .*/\t\1 X/' -e 's/^\t[A-Z][a-z][a-z], .*/\tDATE/' \
                -e 's/^Date: .*/Date: X/' -e 's/^Message-Id: .*/Message-Id: X/' -e 's/^named_attribute: log_ident=.*/log_ident/' >"$TR_T/$tr_n.mail"
        else
            echo "no queue file" >"$TR_T/$tr_n.mail"
        fi
    done
    compare_files trivial-rewrite-cleanup-mail "$TR_T/ref.mail" "$TR_T/ours.mail"
    tr_stop
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
