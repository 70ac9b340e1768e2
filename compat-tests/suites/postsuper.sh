# postsuper.sh - postsuper(1) against the reference on queues made by a
# private reference instance (pickup and cleanup only: incoming and hold
# files, short and long queue IDs), plus deferred files and defer
# logfiles put in place by hand. Each case copies the queue twice (hard
# links, so that inode numbers and thus -s repairs agree; real copies
# where -e/-f change a file mode), runs the reference on one and ours on
# the other, and compares stdout, stderr, exit status, the resulting
# trees (names, types, modes, owners, sizes) and the mail log lines.
#
# Needs root and the postfix user; otherwise only argument errors run.

PS_T=$COMPAT_TMP/ps
PS_Q=$PS_T/q
mkdir -p "$PS_T/conf"
chmod 711 "$COMPAT_TMP"
chmod 755 "$PS_T"
ps_main() {
    cat <<EOF
queue_directory = $1/q
data_directory = $1/data
maillog_file = $1/maillog
maillog_file_prefixes = $1
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = ps.example.com
mydestination =
hash_queue_names = deferred, defer
header_checks = regexp:$PS_T/conf/header_checks
EOF
}
ps_main "$PS_T" >"$PS_T/conf/main.cf"
printf '/^Subject: hold/ HOLD\n' >"$PS_T/conf/header_checks"
cat >"$PS_T/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
touch -d '1 minute ago' "$PS_T/conf/main.cf"

# Argument errors (no queue needed).
compare "postsuper bad option" postsuper -x
compare "postsuper -c relative" postsuper -c relative/dir
compare "postsuper -c missing dir" postsuper -c "$PS_T/nonexistent"
compare "postsuper -d missing arg" postsuper -c "$PS_T/conf" -d

PS_UP=
if [ "$(id -u)" = 0 ] && mkdir -p "$PS_Q" "$PS_T/data" && chown postfix "$PS_T/data" 2>/dev/null \
    && "$REF_SBIN/postfix" -c "$PS_T/conf" check >/dev/null 2>&1; then
    ps_old_trap=$(trap -p EXIT)
    trap 'inst_stop "$PS_T/conf"; rm -rf "$COMPAT_TMP"' EXIT
    ps_send() { MAIL_CONFIG=$PS_T/conf "$REF_SBIN/sendmail" "$@" 2>/dev/null; }
    ps_wait() { for ps_i in $(seq 1 100); do [ "$(find "$PS_Q/incoming" "$PS_Q/hold" -type f | wc -l)" -ge "$1" ] && break; sleep 0.2; done; }
    if inst_start "$PS_T/conf" >/dev/null 2>&1; then
        for ps_n in 1 2 3 4; do printf 'Subject: m%s\n\nbody\n' $ps_n | ps_send -f s@example.com r$ps_n@example.org; done
        printf 'Subject: hold me\n\nbody\n' | ps_send -f s@example.com h@example.org
        ps_wait 5
        inst_stop "$PS_T/conf"
        echo "enable_long_queue_ids = yes" >>"$PS_T/conf/main.cf"
        if inst_start "$PS_T/conf" >/dev/null 2>&1; then
            printf 'Subject: long\n\nbody\n' | ps_send -f s@example.com l1@example.org
            printf 'Subject: hold long\n\nbody\n' | ps_send -f s@example.com l2@example.org
            ps_wait 7
            inst_stop "$PS_T/conf"
        fi
        sed -i '/^enable_long_queue_ids/d' "$PS_T/conf/main.cf"
        PS_UP=1
    else
        echo "postsuper: skipped: the reference instance did not start"
    fi
    eval "$ps_old_trap"
else
    echo "postsuper: skipped: cases with queue files need root and the postfix user"
fi

if [ -n "$PS_UP" ]; then
    # Deferred mail by hand: two incoming files move to deferred/X/,
    # with defer and bounce logfiles; a stale temporary file; junk.
    ps_ids=$(ls "$PS_Q/incoming" | sort)
    ps_d1=$(echo "$ps_ids" | sed -n 1p)
    ps_d2=$(echo "$ps_ids" | sed -n 2p)
    ps_in=$(echo "$ps_ids" | sed -n 3p)
    ps_hold=$(ls "$PS_Q/hold" | grep -v z | head -1)
    for ps_id in $ps_d1 $ps_d2; do
        ps_h=$(echo "$ps_id" | cut -c1)
        mkdir -p "$PS_Q/deferred/$ps_h" "$PS_Q/defer/$ps_h" && chown postfix "$PS_Q/deferred/$ps_h" "$PS_Q/defer/$ps_h"
        mv "$PS_Q/incoming/$ps_id" "$PS_Q/deferred/$ps_h/$ps_id"
        printf 'recipient=x@example.org\nreason=later\n\n' >"$PS_Q/defer/$ps_h/$ps_id"
        chown postfix "$PS_Q/defer/$ps_h/$ps_id"; chmod 600 "$PS_Q/defer/$ps_h/$ps_id"
    done
    printf 'recipient=x@example.org\nreason=bounced\n\n' >"$PS_Q/bounce/$ps_d1"
    chown postfix "$PS_Q/bounce/$ps_d1"; chmod 600 "$PS_Q/bounce/$ps_d1"
    : >"$PS_Q/incoming/12345.678"; chown postfix "$PS_Q/incoming/12345.678"; chmod 600 "$PS_Q/incoming/12345.678"
    touch -d '8 days ago' "$PS_Q/incoming/12345.678"
    : >"$PS_Q/active/not-a-queue-id"; chown postfix "$PS_Q/active/not-a-queue-id"

    # ps_case NAME link|copy EXTRA_MAIN_CF ARGS... [with PS_STDIN]
    ps_case() {
        local name="postsuper $1" how=$2 extra=$3; shift 3
        case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
        local d="$COMPAT_TMP/cases/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')" side ok=1 f
        rm -rf "$d"
        for side in ref ours; do
            local s=$d/$side
            mkdir -p "$s/out" "$s/data"; chmod 755 "$d" "$s"
            ps_main "$s" >"$s/main.cf"
            [ -n "$extra" ] && printf '%s\n' "$extra" >>"$s/main.cf"
            touch -d '1 minute ago' "$s/main.cf"
            : >"$s/maillog"; chown postfix "$s/maillog" "$s/data"
            if [ "$how" = link ]; then cp -al "$PS_Q" "$s/q"; else cp -a "$PS_Q" "$s/q"; fi
            local dir=$REF_SBIN; [ $side = ours ] && dir=$OUR_SBIN
            ( cd "$COMPAT_TMP" && exec "$dir/postsuper" -c "$s" "$@" ) >"$s/out/stdout" 2>"$s/out/stderr" <"${PS_STDIN:-/dev/null}"
            echo $? >"$s/out/status"
            sed -i "s#$s#DIR#g" "$s/out/stderr"
            ( cd "$s/q" && find . -path ./pid -prune -o -printf '%P %y %m %U %s\n' | sort ) >"$s/out/tree"
            sed -e 's/^.*postfix\/postsuper\[[0-9]*\]: //' -e "s#$s#DIR#g" "$s/maillog" >"$s/out/maillog"
        done
        for f in stdout stderr status tree maillog; do
            if ! cmp -s "$d/ref/out/$f" "$d/ours/out/$f"; then
                ok=0
                echo "FAIL $name ($f differs: $*)"
                diff -u "$d/ref/out/$f" "$d/ours/out/$f" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
            fi
        done
        record "$name" $ok
    }

    ps_case "default (-s -p)" link ""
    ps_case "-s" link "" -s
    ps_case "-S" link "" -S
    ps_case "-p" link "" -p
    ps_case "-v" link "" -v
    ps_case "-s rehash depth 2" link "hash_queue_depth = 2" -s
    ps_case "-s hash hold incoming" link "hash_queue_names = deferred, defer, hold, incoming" -s
    ps_case "-s no hashing" link "hash_queue_names =" -s
    ps_case "-s long IDs on" link "enable_long_queue_ids = yes" -s
    ps_case "-S long IDs on" link "enable_long_queue_ids = yes" -S
    ps_case "-s maildrop hashed" link "hash_queue_names = maildrop" -s
    ps_case "-d one" link "" -d "$ps_d1"
    ps_case "-d two" link "" -d "$ps_d1" -d "$ps_hold"
    ps_case "-d missing" link "" -d ABCDEF12345
    ps_case "-d bad id" link "" -d 'bad.id'
    ps_case "-d ALL" link "" -d ALL
    ps_case "-d ALL deferred" link "" -d ALL deferred
    ps_case "-d one in hold only" link "" -d "$ps_d1" hold
    ps_case "-d bad queue" link "" -d ALL corrupt
    printf '%s\n%s\nbad.id\n\n%s' "$ps_d1" "$ps_hold" "$ps_in" >"$PS_T/ids"
    PS_STDIN=$PS_T/ids ps_case "-d -" link "" -d -
    ps_case "-h one" link "" -h "$ps_d2"
    ps_case "-h ALL" link "" -h ALL
    ps_case "-H one" link "" -H "$ps_hold"
    ps_case "-H ALL" link "" -H ALL
    ps_case "-r one" link "" -r "$ps_d2"
    ps_case "-r ALL" link "" -r ALL
    ps_case "-r ALL incoming" link "" -r ALL incoming
    ps_case "-e one" copy "" -e "$ps_d1"
    ps_case "-e ALL" copy "" -e ALL
    ps_case "-f hold" copy "" -f "$ps_hold"
    ps_case "-f ALL" copy "" -f ALL
    ps_case "-h then -H" link "" -h "$ps_in" -H "$ps_in"
    ps_case "-s -d ALL" link "hash_queue_depth = 2" -s -d ALL
    ps_case "-p -r ALL" link "" -p -r ALL
    ps_case "-d hashed path, depth 2" link "hash_queue_depth = 2" -d "$ps_d1"
fi
