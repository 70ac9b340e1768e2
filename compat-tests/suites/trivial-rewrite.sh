# trivial-rewrite.sh - the rewrite service of our trivial-rewrite(8)
# against the reference's: two private instances (the reference master,
# one with our trivial-rewrite in its daemon_directory), the same
# rewrite requests sent by attrprobe to private/rewrite of each, under
# several main.cf settings (myorigin, mydomain, append_at_myorigin,
# append_dot_mydomain, swap_bangpath, allow_percent_hack,
# remote_header_rewrite_domain). Then the reference cleanup and pickup
# use our trivial-rewrite for real mail: the queue file must equal the
# one made with the reference's trivial-rewrite.
# The resolve and verify services are compared the same way: attrprobe
# asks both instances to resolve a corpus of odd and ordinary addresses
# for several senders, under configurations that exercise each address
# class, the per-class transports and their verify variants, relayhost
# forms, transport_maps (every value form, parent domains, "*",
# extensions), sender-dependent relayhost and default transport maps,
# relocated_maps, the resolve_* switches, and table lookup failures;
# the replies and trivial-rewrite's log lines must be equal.

TR_T=$COMPAT_TMP/trw
mkdir -p "$TR_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$TR_T"

tr_instance() {
    local n=$1; shift
    local d=$TR_T/$n
    inst_dirs "$d"
    mixed_daemon_dir "$d/libexec" "$@"
    inst_main_cf "$d" "$d/libexec" "myhostname = host.example.com" "mydomain = example.com" "mydestination ="
    inst_master_cf "$d" pickup cleanup rewrite bounce defer trace postlog
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
        inst_start "$TR_T/$n/conf" >/dev/null 2>&1
    done
    for ctx in local remote; do
        tr_probe ref "$ctx" >"$TR_T/ref.$name.$ctx"
        tr_probe ours "$ctx" >"$TR_T/ours.$name.$ctx"
        compare_files "trivial-rewrite-$name-$ctx" "$TR_T/ref.$name.$ctx" "$TR_T/ours.$name.$ctx"
    done
}

# The resolver corpus: ordinary and odd recipients.
TR_RCPTS=(joe Joe@HOST.example.com joe@localhost joe@localhost. joe@local.example joe@remote.example
    joe@Remote.Example. joe@remote.example.. user%remote.example user%remote.example@localhost remote!user
    remote!user@localhost 'a!b!c@host.example.com' '"user@remote.example"' '"user@remote.example"@localhost'
    '"user%remote.example"@localhost' '"a!b"@localhost' '"joe smith"@remote.example' '""' '@' '' 'joe@' 'joe@@'
    '@localhost' 'joe@[127.0.0.1]' 'joe@[10.9.8.7]' 'joe@[10.1.2.3]' 'joe@[ipv6:::1]' 'joe@[IPv6:::1]'
    'joe@[1.2.3]' 'joe@[1.2.3.4]x' 'joe@1.2.3.4' 'joe@127.0.0.1' 'joe@bad_host!' 'joe@-bad.example' 'joe@a..b' 'joe@.'
    '-joe@remote.example' '-joe' joe@relay.example joe@sub.relay.example joe@alias.example joe@vmbox.example
    joe+ext@remote.example joe+ext@other.example joe@other.example joe@sub.other.example joe@x.sub.other.example
    joe@retry.example joe@err.example joe@colon.example joe@hop.example bob@err.example MAILER-DAEMON postmaster
    'jöe@remote.example' 'joe@exämple.com' '@a,@b:joe@remote.example' 'joe@remote.example@localhost'
    'joe%x%remote.example@localhost' 'x(c)@remote.example' 'joe@moved.example' 'joe@localhost@localhost')
TR_SENDERS=('' joe@sender.example bob@sender2.example x@elsewhere.example)

tr_resolve_probe() {
    local n=$1 cls=$2 snd
    for snd in "${TR_SENDERS[@]}"; do
        echo "## $cls <$snd>"
        MAIL_CONFIG=$TR_T/$n/conf "$TR_PROBE" "$cls" "$snd" "${TR_RCPTS[@]}" 2>&1 | sed "s#$TR_T/$n#INST#g"
    done
}

# tr_log N - trivial-rewrite's own log lines, without times and pids.
tr_log() {
    sed -n -e 's#^.*postfix/trivial-rewrite\[[0-9]*\]: ##p' "$TR_T/$1/maillog" 2>/dev/null \
        | sed -e "s#$TR_T/$1#INST#g" | grep -v -e '^daemon started' -e '^connect\|^disconnect' | sort
}

# tr_tables - the lookup tables the resolver cases name.
tr_tables() {
    local d=$TR_T/tables
    rm -rf "$d"; mkdir -p "$d"
    cat >"$d/transport" <<'EOT'
remote.example smtp:[mx.remote.example]:2525
joe+ext@other.example local:extension
joe@other.example pipe:
other.example :[other-hop.example]
.other.example relay:[sub-hop.example]
retry.example retry:
err.example error:5.7.1 go away
bob@err.example error:
colon.example :
hop.example lmtp:unix:/var/run/lmtp
localhost discard:
alias.example smtp:[never]
EOT
    printf '*\tsmtp:[wild.example]\nremote.example\tsmtp:\n' >"$d/wildcard"
    printf '/^joe@/\tregexp:[re-$0]\n/other/\tregexp2\n' >"$d/transport.re"
    cat >"$d/sndrelay" <<'EOT'
joe@sender.example [relay-for-joe.example]:587
@sender2.example DUNNO
<> [null-sender-relay.example]
EOT
    cat >"$d/snddef" <<'EOT'
joe@sender.example special:[via-special]
@sender2.example dunno
<> nullxport
EOT
    printf 'joe@moved.example\tjoe@new.example\njoe@remote.example\tnew place\n' >"$d/relocated"
    printf 'local.example ok\nmoved.example ok\n' >"$d/mydest"
    printf 'alias.example anything\n@other.example x\n' >"$d/valias"
    printf 'vmbox.example ok\nrelay.example dup\n' >"$d/vmbox"
    printf 'relay.example ok\nother.example ok\n' >"$d/relaydoms"
    printf 'localhost\n# comment\nlocal.example, !moved.example\n' >"$d/mydest.list"
    chmod -R a+rX "$d"
}

# tr_resolve_case NAME SETTING... - both instances with the settings,
# every sender and recipient of the corpus resolved and verified.
tr_resolve_case() {
    local name=$1; shift
    local n x cls
    for n in ref ours; do
        tr_instance "$n" $([ "$n" = ours ] && echo trivial-rewrite)
        "$REF_SBIN/postconf" -c "$TR_T/$n/conf" -e "mydestination = \$myhostname, localhost.\$mydomain, localhost"
        for x in "$@"; do "$REF_SBIN/postconf" -c "$TR_T/$n/conf" -e "$x"; done
        sed -i "s#TABLES#$TR_T/tables#g" "$TR_T/$n/conf/main.cf"
        find "$TR_T/$n/conf" -type f -exec touch -d '1 minute ago' {} +
        inst_start "$TR_T/$n/conf" >/dev/null 2>&1
    done
    for cls in resolve verify; do
        tr_resolve_probe ref "$cls" >"$TR_T/ref.$name.$cls"
        tr_resolve_probe ours "$cls" >"$TR_T/ours.$name.$cls"
        compare_files "trivial-rewrite-$cls-$name" "$TR_T/ref.$name.$cls" "$TR_T/ours.$name.$cls"
    done
    tr_stop
    tr_log ref >"$TR_T/ref.$name.log"
    tr_log ours >"$TR_T/ours.$name.log"
    compare_files "trivial-rewrite-resolve-$name-log" "$TR_T/ref.$name.log" "$TR_T/ours.$name.log"
}

tr_stop() {
    local n
    for n in ref ours; do inst_stop "$TR_T/$n/conf"; done
    return 0
}

if [ "$(id -u)" != 0 ] || [ ! -x "$OUR_LIBEXEC/trivial-rewrite" ]; then
    echo "trivial-rewrite: skipped: needs root and our daemons ($OUR_LIBEXEC)"
else
    attrprobe_wait
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
    # Until each queue file is complete (cleanup sets its owner-execute bit).
    for tr_n in ref ours; do
        for tr_i in $(seq 1 50); do
            [ -n "$(find "$TR_T/$tr_n/q/incoming" -type f -perm -u=x 2>/dev/null)" ] && break
            sleep 0.1
        done
    done
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
    tr_tables
    tr_resolve_case defaults
    tr_resolve_case classes "virtual_alias_domains = alias.example" "virtual_mailbox_domains = vmbox.example, moved.example" \
        "relay_domains = relay.example" "mydestination = localhost, texthash:TABLES/mydest"
    tr_resolve_case transports "local_transport = local" "virtual_transport = lmtp:unix:private/dovecot" \
        "relay_transport = relay:[relayhub.example]:25" "default_transport = smtp:[outbound.example]" \
        "virtual_mailbox_domains = vmbox.example" "relay_domains = relay.example" "relayhost = ignored.example"
    tr_resolve_case relayhost "relayhost = [gw.example]:2525" "relay_domains = relay.example" \
        "address_verify_relayhost = [verify-gw.example]" "address_verify_default_transport = vsmtp" \
        "address_verify_local_transport = vlocal:vhost" "address_verify_relay_transport = vrelay"
    tr_resolve_case transport-maps "transport_maps = texthash:TABLES/transport" "relay_domains = relay.example" \
        "virtual_alias_domains = alias.example" "recipient_delimiter = +"
    tr_resolve_case transport-parent "transport_maps = texthash:TABLES/transport, texthash:TABLES/wildcard" \
        "parent_domain_matches_subdomains = transport_maps" "address_verify_transport_maps = texthash:TABLES/wildcard"
    tr_resolve_case transport-regexp "transport_maps = regexp:TABLES/transport.re" "relayhost = [gw.example]"
    tr_resolve_case sender-maps "sender_dependent_relayhost_maps = texthash:TABLES/sndrelay" \
        "sender_dependent_default_transport_maps = texthash:TABLES/snddef" "relayhost = gw.example" \
        "address_verify_sender_dependent_relayhost_maps =" "relay_domains = relay.example"
    tr_resolve_case relocated "relocated_maps = texthash:TABLES/relocated" "show_user_unknown_table_name = no" \
        "virtual_alias_domains = alias.example" "allow_min_user = yes" "empty_address_recipient = postmaster"
    tr_resolve_case switches "swap_bangpath = no" "allow_percent_hack = no" "resolve_dequoted_address = no" \
        "resolve_null_domain = yes" "resolve_numeric_domain = yes" "proxy_interfaces = 10.9.8.7"
    tr_resolve_case switches2 "resolve_numeric_domain = yes" "allow_percent_hack = yes" "smtputf8_enable = no" \
        "append_dot_mydomain = yes" "mydomain = example.com"
    tr_resolve_case failures "transport_maps = texthash:TABLES/missing" "relay_domains = texthash:TABLES/missing2" \
        "default_transport = :nohost" "sender_dependent_relayhost_maps = texthash:TABLES/missing3"
    tr_resolve_case table-lists "virtual_alias_maps = texthash:TABLES/valias" "virtual_mailbox_maps = texthash:TABLES/vmbox" \
        "relay_domains = texthash:TABLES/relaydoms, alias.example" "mydestination = TABLES/mydest.list, \$myhostname"
    tr_resolve_case both-lists "virtual_alias_domains = alias.example, local.example" "virtual_mailbox_domains = alias.example" \
        "relay_domains = alias.example, vmbox.example, sub.relay.example" "virtual_mailbox_domains = vmbox.example, localhost" \
        "parent_domain_matches_subdomains =" "helpful_warnings = yes"
    # A table that is replaced on disk: the process restarts within 10
    # seconds ("table ... has changed") and the next request sees the new
    # entry. (lmdb tables are safe for concurrent writers: an update in
    # place is read live and does not count as a change.)
    printf 'remote.example smtp:[before.example]\n' >"$TR_T/tables/lmdbtransport"
    "$REF_SBIN/postmap" -c "$TR_T/ref/conf" "lmdb:$TR_T/tables/lmdbtransport"
    chmod a+r "$TR_T/tables/lmdbtransport.lmdb"
    for tr_n in ref ours; do
        tr_instance "$tr_n" $([ "$tr_n" = ours ] && echo trivial-rewrite)
        "$REF_SBIN/postconf" -c "$TR_T/$tr_n/conf" -e "transport_maps = lmdb:$TR_T/tables/lmdbtransport"
        find "$TR_T/$tr_n/conf" -type f -exec touch -d '1 minute ago' {} +
        inst_start "$TR_T/$tr_n/conf" >/dev/null 2>&1
        MAIL_CONFIG=$TR_T/$tr_n/conf "$TR_PROBE" resolve "" joe@remote.example >"$TR_T/$tr_n.restart" 2>&1
    done
    sleep 1
    printf 'remote.example smtp:[after.example]\n' >"$TR_T/tables/lmdbnew"
    "$REF_SBIN/postmap" -c "$TR_T/ref/conf" "lmdb:$TR_T/tables/lmdbnew"
    chmod a+r "$TR_T/tables/lmdbnew.lmdb"
    mv "$TR_T/tables/lmdbnew.lmdb" "$TR_T/tables/lmdbtransport.lmdb"
    sleep 12
    for tr_n in ref ours; do
        MAIL_CONFIG=$TR_T/$tr_n/conf "$TR_PROBE" resolve "" joe@remote.example >>"$TR_T/$tr_n.restart" 2>&1
    done
    tr_stop
    for tr_n in ref ours; do tr_log "$tr_n" >>"$TR_T/$tr_n.restart"; done
    compare_files trivial-rewrite-table-changed "$TR_T/ref.restart" "$TR_T/ours.restart"
    tr_resolve_case fail-tables "virtual_alias_domains = fail:va" "sender_dependent_default_transport_maps = fail:sd"
    tr_resolve_case fail-tables2 "virtual_mailbox_domains = fail:vm" "relocated_maps = fail:rl" "mydestination = fail:md"
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
