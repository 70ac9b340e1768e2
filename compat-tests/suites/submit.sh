# submit.sh - sendmail(1) and postdrop(1) against the reference.
#
# Each submission case runs four ways into one private queue: the
# reference sendmail with the reference postdrop (the baseline), ours
# with ours, our sendmail with the reference postdrop, and the reference
# sendmail with our postdrop (command_directory picks the postdrop).
# Compared: stdout, stderr, exit status, the maildrop file byte for byte
# (minus the arrival time record, which postdrop writes first) and its
# mode and ownership. Then: postdrop alone on hand-made record streams,
# the modes that hand over to other programs (stub commands record how
# they were called), non-root submissions, and a reference pickup and
# cleanup that must accept a message queued by our programs.
#
# Needs root (setgid copies of our postdrop, setpriv, a private master).

SM_T=$COMPAT_TMP/submit
SM_Q=$SM_T/q
mkdir -p "$SM_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$SM_T"

if [ "$(id -u)" != 0 ] || ! getent group postdrop >/dev/null || ! command -v setpriv >/dev/null; then
    echo "submit: skipped: needs root, the postdrop group and setpriv"
    return 0 2>/dev/null || exit 0
fi

# Our postdrop as it is installed: set-gid postdrop.
SM_OURCMD=$SM_T/ourcmd
mkdir -p "$SM_OURCMD"
cp "$OUR_SBIN/postdrop" "$SM_OURCMD/postdrop"
chgrp postdrop "$SM_OURCMD/postdrop"
chmod 2755 "$SM_OURCMD/postdrop"

# Stub commands for the modes that run another program.
SM_STUB=$SM_T/stub
mkdir -p "$SM_STUB"
for sm_p in postqueue postalias smtpd; do
    printf '#!/bin/sh\necho "stub: %s $*"\nexit 3\n' "$sm_p" >"$SM_STUB/$sm_p"
done
printf '#!/bin/sh\necho "stub: postfix $*" >>"%s/bd.log"\n' "$SM_T" >"$SM_STUB/postfix"
chmod 755 "$SM_STUB"/*

# sm_conf DIR COMMAND_DIR EXTRA... - a main.cf for the private queue.
sm_conf() {
    local d=$1 cmd=$2; shift 2
    mkdir -p "$d"
    {
        echo "queue_directory = $SM_Q"
        echo "data_directory = $SM_T/data"
        echo "maillog_file = $SM_T/maillog"
        echo "maillog_file_prefixes = $SM_T"
        echo "compatibility_level = 3.6"
        echo "inet_interfaces = loopback-only"
        echo "inet_protocols = ipv4"
        echo "myhostname = submit.example.com"
        echo "mydestination ="
        echo "command_directory = $cmd"
        for sm_x in "$@"; do echo "$sm_x"; done
    } >"$d/main.cf"
    cat >"$d/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    find "$d" -maxdepth 1 -type f -exec touch -d '1 minute ago' {} +
}

SM_REF=$SM_T/conf-ref
SM_OURS=$SM_T/conf-ours
sm_conf "$SM_REF" "$REF_SBIN"
sm_conf "$SM_OURS" "$SM_OURCMD"
mkdir -p "$SM_Q" "$SM_T/data"
chown postfix "$SM_T/data"
if ! "$REF_SBIN/postfix" -c "$SM_REF" check >/dev/null 2>&1; then
    echo "submit: skipped: postfix check failed for the private queue"
    return 0 2>/dev/null || exit 0
fi

# sm_strip FILE - the queue file without its first (arrival time) record.
sm_strip() {
    local len
    len=$(od -An -tu1 -j1 -N1 "$1" | tr -d ' ')
    tail -c +$((len + 3)) "$1"
}

# sm_run OUT PROGRAM CONF ARGS... - run with stdin $SM_IN (as $SM_AS, a
# command prefix); keep stdout, stderr, status and the new maildrop file.
sm_run() {
    local out=$1 bin=$2 conf=$3; shift 3
    local before after f
    rm -rf "$out"; mkdir -p "$out"
    before=$(ls "$SM_Q/maildrop" | sort)
    # shellcheck disable=SC2086
    ( cd "$SM_T" && exec env MAIL_CONFIG="$conf" ${SM_ENV:-} ${SM_AS:-} "$bin" "$@" ) \
        <"${SM_IN:-/dev/null}" >"$out/stdout" 2>"$out/stderr"
    echo $? >"$out/status"
    after=$(ls "$SM_Q/maildrop" | sort)
    f=$(comm -13 <(echo "$before") <(echo "$after") | head -1)
    # After a failed submission postdrop may still be removing its file.
    local i=0
    while [ -n "$f" ] && [ "$(stat -c %a "$SM_Q/maildrop/$f" 2>/dev/null)" != 744 ] && [ $i -lt 20 ]; do
        sleep 0.05; i=$((i + 1))
        [ -e "$SM_Q/maildrop/$f" ] || f=
    done
    if [ -n "$f" ]; then
        sm_strip "$SM_Q/maildrop/$f" >"$out/file"
        stat -c '%a %U %G' "$SM_Q/maildrop/$f" >"$out/mode"
        rm -f "$SM_Q/maildrop/$f"
    else
        echo "no file" >"$out/file"
        : >"$out/mode"
    fi
    # Command paths and queue IDs differ between the two sides.
    sed -i -e "s#$REF_SBIN/#CMD/#g; s#$SM_OURCMD/#CMD/#g; s#$COMPAT_TMP#TMP#g" "$out/stderr" "$out/stdout"
    tr '\0' '~' <"$out/stdout" | sed -e 's/queue_id~[0-9A-Za-z]*~/queue_id~ID~/' >"$out/stdout.n"
}

# sm_same NAME A B - compare two runs, count one case.
sm_same() {
    local name=$1 a=$2 b=$3 ok=1 f
    for f in stdout.n stderr status file mode; do
        if ! cmp -s "$a/$f" "$b/$f"; then
            ok=0
            echo "FAIL $name ($f differs)"
            diff -u <(cat -v "$a/$f") <(cat -v "$b/$f") | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        fi
    done
    record "$name" $ok
}

# sm_case NAME ARGS... - the four combinations of sendmail and postdrop.
sm_case() {
    local name=$1; shift
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local d="$SM_T/cases/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')"
    sm_run "$d/rr" "$REF_SBIN/sendmail" "$SM_REF" "$@"
    sm_run "$d/oo" "$OUR_SBIN/sendmail" "$SM_OURS" "$@"
    sm_run "$d/or" "$OUR_SBIN/sendmail" "$SM_REF" "$@"
    sm_run "$d/ro" "$REF_SBIN/sendmail" "$SM_OURS" "$@"
    sm_same "$name/ours" "$d/rr" "$d/oo"
    sm_same "$name/our-sendmail" "$d/rr" "$d/or"
    sm_same "$name/our-postdrop" "$d/rr" "$d/ro"
}

# --- messages
SM_M=$SM_T/msgs
mkdir -p "$SM_M"
printf 'Subject: hi\nFrom: a@example.com\n\nhello world\n' >"$SM_M/plain"
printf 'To: t1@example.com, "Tee Two" <t2@example.com>\nCc: c1@example.com (comment)\nBcc: b1@example.com\nSubject: rcpt\n\nbody\n' >"$SM_M/torcpt"
printf 'To: t1@example.com\nResent-To: r1@example.com\nCc: c1@example.com\nResent-Cc: r2@example.com, group: g1@example.com, g2@example.com;\nResent-Bcc: r3@example.com\nResent-Reply-To: no@example.com\n\nbody\n' >"$SM_M/resent"
printf 'To: folded1@example.com,\n\tfolded2@example.com,\n  "quoted name" <folded3@example.com>\nSubject : spaced colon\nX-Other:  two spaces\n\nbody\n' >"$SM_M/folded"
printf 'Subject: no recipients here\nFrom: a@example.com\n\nbody\n' >"$SM_M/norcpt"
printf 'To: x@example.com\nSubject: no blank line\nthis line is not a header\nbody\n' >"$SM_M/noblank"
printf 'To: x@example.com\n\n.\nafter dot\n' >"$SM_M/dot"
printf 'Subject: dots\n\n..double\n.\r\nafter\n' >"$SM_M/dotcr"
printf 'Subject: crlf\r\nX: y\r\n\r\nline one\r\nline two\r\r\n\r\n' >"$SM_M/crlf"
printf 'Subject: mixed\nX: y\r\n\nbare\nwith cr\r\n' >"$SM_M/mixed"
printf 'From someone Sat Jan  1 00:00:00 2000\n>From again\nSubject: from lines\n\nFrom inside body\n' >"$SM_M/fromline"
printf 'Subject: =?ISO-8859-1?Q?caf=E9?=\nFrom: r\xe9sum\xe9 <a@example.com>\nTo: j\xfcrgen@example.com\n\n8-bit: caf\xe9 na\xefve \xc3\xa9t\xc3\xa9\n' >"$SM_M/8bit"
printf 'Subject: no newline\n\nlast line without newline' >"$SM_M/nonl"
printf 'To: nonl@example.com' >"$SM_M/hdrnonl"
printf 'Subject: nul\n\nnul\0inside\n' >"$SM_M/nul"
: >"$SM_M/empty"
printf '\n' >"$SM_M/blank"
{
    printf 'Subject: long lines\nX-Long: '; head -c 3000 /dev/zero | tr '\0' 'h'; printf '\n\n'
    head -c 5000 /dev/zero | tr '\0' 'b'; printf '\n'
    head -c 2048 /dev/zero | tr '\0' 'x'; printf '\n'
    head -c 2047 /dev/zero | tr '\0' 'y'; printf '\r\n'
    head -c 2049 /dev/zero | tr '\0' 'z'; printf '\n'
    head -c 4096 /dev/zero | tr '\0' 'w'
} >"$SM_M/long"
{
    printf 'To: long@example.com\nX-Long: '; head -c 5000 /dev/zero | tr '\0' 'h'; printf '\n\tcontinued '
    head -c 3000 /dev/zero | tr '\0' 'c'; printf '\n\n'
    head -c 4096 /dev/zero | tr '\0' 'b'; printf '\n'
} >"$SM_M/longhdr"
{
    printf 'To: big@example.com\nX-Big: start\n'
    for sm_i in $(seq 1 1200); do printf '\tcontinuation line %d with some text to make it longer\n' "$sm_i"; done
    printf '\nbody\n'
} >"$SM_M/bighdr"

SM_IN=$SM_M/plain
sm_case plain -f a@example.com b@example.com c@example.com
sm_case default-sender b@example.com
sm_case fullname -F 'Full Name' -f a@example.com b@example.com
sm_case fullname-empty -F '' -f a@example.com b@example.com
SM_ENV="NAME=From_Env" sm_case fullname-env -f a@example.com b@example.com
sm_case fullname-8bit -F $'Ren\xe9 \xc3\xa9' -f a@example.com b@example.com
sm_case sender-null -f '<>' b@example.com
sm_case sender-empty -f '' b@example.com
sm_case sender-angle -f 'Some One <some@example.com>' b@example.com
sm_case sender-two -f 'a@example.com, b@example.com' c@example.com
sm_case sender-comment -f '(comment) a@example.com (more)' c@example.com
sm_case sender-quoted -f '"odd local"@example.com' c@example.com
sm_case sender-route -f '<@relay.example:a@example.com>' c@example.com
sm_case sender-r -r old@example.com c@example.com
sm_case rcpt-forms -f a@example.com 'x@example.com, y@example.com' 'Name <z@example.com>' '"q l"@example.com' 'grp: g1@example.com, g2@example.com;' 'bare'
sm_case rcpt-empty -f a@example.com ''
sm_case rcpt-comment-only -f a@example.com '(just a comment)'
sm_case rcpt-8bit -f a@example.com $'j\xfcrgen@example.com'
sm_case dsn -f a@example.com -N success,delay,failure -R hdrs -V env-id-1 b@example.com c@example.com
sm_case dsn-never -f a@example.com -N never -R FULL b@example.com
sm_case dsn-bad -f a@example.com -N never,success -R both -V $'bad\x01id' b@example.com
sm_case dsn-unknown -f a@example.com -N sometimes -V '' b@example.com
sm_case dsn-long-envid -f a@example.com -V "$(head -c 101 /dev/zero | tr '\0' e)" b@example.com
sm_case verp -f list@example.com -XV b@example.com
sm_case verp-chars -f list@example.com -XV-= b@example.com
sm_case verp-old -f list@example.com -V += b@example.com
sm_case verp-old-attached -f list@example.com -V+= b@example.com
sm_case verp-bad -f list@example.com -XVab b@example.com
sm_case verp-null -f '' -XV b@example.com
sm_case encoding-8 -B 8BITMIME -f a@example.com b@example.com
sm_case encoding-7 -B 7BIT -f a@example.com b@example.com
sm_case encoding-bad -B 9BIT -f a@example.com b@example.com
sm_case remote -G -f a@example.com b@example.com
sm_case record -v -f a@example.com b@example.com
sm_case verify -bv -f a@example.com b@example.com c@example.com
sm_case verify-null -bv -f '' b@example.com
sm_case verify-norcpt -bv -f a@example.com
sm_case verify-t -bv -t
sm_case verify-N -bv -N success b@example.com
sm_case verify-R -bv -R full b@example.com
sm_case verify-v -bv -v b@example.com
sm_case ignored-opts -oi -odb -oem -m -c -x -U -h 5 -e x -L tag -O x=y -p smtp -A c -f a@example.com b@example.com
sm_case bm -bm -f a@example.com b@example.com
sm_case norcpt -f a@example.com
sm_case double-dash -f a@example.com -- -b@example.com
SM_IN=$SM_M/torcpt
sm_case t-to-cc-bcc -t -f a@example.com
sm_case t-plus-args -t -f a@example.com extra@example.com
sm_case t-N -t -N delay -f a@example.com
sm_case t-oi -t -oi -f a@example.com
SM_IN=$SM_M/resent
sm_case t-resent -t -f a@example.com
SM_IN=$SM_M/folded
sm_case t-folded -t -f a@example.com
sm_case folded-no-t -f a@example.com b@example.com
SM_IN=$SM_M/norcpt
sm_case t-norcpt -t -f a@example.com
SM_IN=$SM_M/noblank
sm_case t-noblank -t -f a@example.com
sm_case noblank-no-t -f a@example.com b@example.com
SM_IN=$SM_M/dot
sm_case dot -f a@example.com b@example.com
sm_case dot-i -i -f a@example.com b@example.com
sm_case dot-oi -oi -f a@example.com b@example.com
sm_case dot-t -t -f a@example.com
SM_IN=$SM_M/dotcr
sm_case dotcr -f a@example.com b@example.com
sm_case dotcr-i -i -f a@example.com b@example.com
SM_IN=$SM_M/crlf
sm_case crlf -f a@example.com b@example.com
SM_IN=$SM_M/mixed
sm_case crlf-mixed -f a@example.com b@example.com
SM_IN=$SM_M/fromline
sm_case from-lines -f a@example.com b@example.com
SM_IN=$SM_M/8bit
sm_case 8bit -f a@example.com b@example.com
sm_case 8bit-t -t -f a@example.com
SM_IN=$SM_M/nonl
sm_case no-newline -f a@example.com b@example.com
sm_case no-newline-t -t -f a@example.com b@example.com
SM_IN=$SM_M/hdrnonl
sm_case header-no-newline-t -t -f a@example.com
SM_IN=$SM_M/nul
sm_case nul -f a@example.com b@example.com
SM_IN=$SM_M/empty
sm_case empty -f a@example.com b@example.com
sm_case empty-t -t -f a@example.com b@example.com
SM_IN=$SM_M/blank
sm_case blank-t -t -f a@example.com b@example.com
SM_IN=$SM_M/long
sm_case long-lines -f a@example.com b@example.com
sm_case long-lines-t -t -f a@example.com b@example.com
SM_IN=$SM_M/longhdr
sm_case long-header-t -t -f a@example.com
SM_IN=$SM_M/bighdr
sm_case big-header-t -t -f a@example.com
SM_IN=/dev/null

# Line-end handling and size limits from main.cf.
for sm_mode in strict never bogus; do
    sm_conf "$SM_REF" "$REF_SBIN" "sendmail_fix_line_endings = $sm_mode"
    sm_conf "$SM_OURS" "$SM_OURCMD" "sendmail_fix_line_endings = $sm_mode"
    SM_IN=$SM_M/crlf sm_case "eol-$sm_mode-crlf" -f a@example.com b@example.com
    SM_IN=$SM_M/mixed sm_case "eol-$sm_mode-mixed" -f a@example.com b@example.com
done
sm_conf "$SM_REF" "$REF_SBIN" "line_length_limit = 100"
sm_conf "$SM_OURS" "$SM_OURCMD" "line_length_limit = 100"
SM_IN=$SM_M/plain sm_case line-limit-too-small -f a@example.com b@example.com
sm_conf "$SM_REF" "$REF_SBIN" "header_size_limit = 0x10"
sm_conf "$SM_OURS" "$SM_OURCMD" "header_size_limit = 0x10"
SM_IN=$SM_M/plain sm_case header-limit-not-a-number -f a@example.com b@example.com
sm_conf "$SM_REF" "$REF_SBIN" "line_length_limit = 512" "header_size_limit = 300"
sm_conf "$SM_OURS" "$SM_OURCMD" "line_length_limit = 512" "header_size_limit = 300"
SM_IN=$SM_M/long sm_case small-line-limit -f a@example.com b@example.com
SM_IN=$SM_M/folded sm_case small-header-limit-t -t -f a@example.com
SM_IN=$SM_M/longhdr sm_case header-too-long-t -t -f a@example.com
sm_conf "$SM_REF" "$REF_SBIN" "message_size_limit = 200"
sm_conf "$SM_OURS" "$SM_OURCMD" "message_size_limit = 200"
SM_IN=$SM_M/long sm_case size-limit -f a@example.com b@example.com
SM_IN=$SM_M/plain sm_case size-limit-small -f a@example.com b@example.com
sm_conf "$SM_REF" "$REF_SBIN" "authorized_submit_users = !root, static:anyone"
sm_conf "$SM_OURS" "$SM_OURCMD" "authorized_submit_users = !root, static:anyone"
SM_IN=$SM_M/plain sm_case acl-root-denied -f a@example.com b@example.com
SM_IN=$SM_M/plain sm_case acl-root-denied-bs -bs
sm_conf "$SM_REF" "$REF_SBIN" "authorized_submit_users = root"
sm_conf "$SM_OURS" "$SM_OURCMD" "authorized_submit_users = root"
SM_IN=$SM_M/plain sm_case acl-root-listed -f a@example.com b@example.com
sm_conf "$SM_REF" "$REF_SBIN" "enable_long_queue_ids = yes"
sm_conf "$SM_OURS" "$SM_OURCMD" "enable_long_queue_ids = yes"
SM_IN=$SM_M/plain sm_case long-queue-ids -f a@example.com b@example.com
sm_conf "$SM_REF" "$REF_SBIN"
sm_conf "$SM_OURS" "$SM_OURCMD"

# Non-root: user nobody, real group postdrop (so that postdrop runs with
# the caller's own ids and accepts MAIL_CONFIG, as in a default install).
SM_AS="setpriv --reuid=nobody --regid=postdrop --clear-groups"
SM_IN=$SM_M/plain sm_case nobody -f a@example.com b@example.com
SM_IN=$SM_M/plain sm_case nobody-default-sender b@example.com
sm_conf "$SM_REF" "$REF_SBIN" "authorized_submit_users = !nobody, static:anyone"
sm_conf "$SM_OURS" "$SM_OURCMD" "authorized_submit_users = !nobody, static:anyone"
SM_IN=$SM_M/plain sm_case nobody-denied -f a@example.com b@example.com
SM_AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
SM_IN=$SM_M/plain sm_case nobody-setgid -f a@example.com b@example.com
SM_IN=$SM_M/plain sm_case nobody-C -C "$SM_REF" -f a@example.com b@example.com
SM_AS=
sm_conf "$SM_REF" "$REF_SBIN"
sm_conf "$SM_OURS" "$SM_OURCMD"

# --- command-line errors and the modes that run other programs
SM_STUBCONF=$SM_T/conf-stub
sm_conf "$SM_STUBCONF" "$SM_STUB" "daemon_directory = $SM_STUB" "alias_database = hash:/etc/aliases, hash:$SM_T/more-aliases"
SM_NOALIAS=$SM_T/conf-noalias
sm_conf "$SM_NOALIAS" "$SM_STUB" "daemon_directory = $SM_STUB" "alias_database ="
SM_NOCMD=$SM_T/conf-nocmd
sm_conf "$SM_NOCMD" "$SM_T/missing"
SM_NOQ=$SM_T/conf-noq
sm_conf "$SM_NOQ" "$SM_STUB" "queue_directory = $SM_T/missing-queue"

MAIL_CONFIG=$SM_STUBCONF
export MAIL_CONFIG
compare sm-bad-option sendmail -z
compare sm-bad-option-2 sendmail -f a@example.com -Z b@example.com
compare sm-missing-arg sendmail -f
compare sm-b-unsupported sendmail -bz
compare sm-n sendmail -n b@example.com
compare sm-X-unsupported sendmail -Xz
compare sm-oA-empty sendmail -oA -bi
compare sm-q-unknown sendmail -qX
compare sm-qR-empty sendmail -qR
compare sm-qI-empty sendmail -qI
compare sm-t-mailq sendmail -t -bp
compare sm-qR-mailq sendmail -qRexample.com -bp
compare sm-qI-mailq sendmail -qIABCDEF -bp
compare sm-bp sendmail -bp
compare sm-bp-v sendmail -bp -v -v
compare sm-bp-rcpt sendmail -bp x@example.com
compare sm-q sendmail -q
compare sm-q-v sendmail -v -q
compare sm-q-rcpt sendmail -q x@example.com
compare sm-q-time sendmail -q30m
compare sm-q-time-rcpt sendmail -q1h x@example.com
compare sm-qR sendmail -qRexample.com
compare sm-qR-rcpt sendmail -qRexample.com x@example.com
compare sm-qI sendmail -qIABCDEF
compare sm-qI-rcpt sendmail -qIABCDEF x@example.com
compare sm-bi sendmail -bi
compare sm-bi-v sendmail -bi -v
compare sm-I sendmail -I
compare sm-oA sendmail -bi -oAhash:/tmp/other
compare sm-bi-rcpt sendmail -bi x@example.com
compare sm-bs sendmail -bs
compare sm-bs-rcpt sendmail -bs x@example.com
compare sm-bh sendmail -bh
compare sm-bH sendmail -bH x@example.com
compare sm-bd-rcpt sendmail -bd x@example.com
compare sm-q-bd sendmail -q -bd x@example.com
compare sm-bd-q sendmail -bd -q x@example.com
compare sm-bv-t sendmail -bv -t
compare sm-bv-N sendmail -bv -N success x@example.com
compare sm-bv-R sendmail -bv -R full x@example.com
compare sm-bv-v sendmail -bv -v x@example.com
MAIL_CONFIG=$SM_NOALIAS compare sm-bi-noalias sendmail -bi
MAIL_CONFIG=$SM_NOALIAS compare sm-oA-noalias sendmail -bi -oA/etc/aliases
MAIL_CONFIG=$SM_NOCMD compare sm-bp-nocmd sendmail -bp
MAIL_CONFIG=$SM_NOQ compare sm-noqueue sendmail -bp
MAIL_CONFIG=$SM_T/no-such-dir compare sm-noconf sendmail -bp
compare sm-C sendmail -C "$SM_NOALIAS" -bi
compare sm-C-main-cf sendmail -C "$SM_NOALIAS/main.cf" -bi
unset MAIL_CONFIG

# Background start (-bd): the stub logs its arguments.
sm_bd() {
    local side=$1 dir=$2; shift 2
    rm -f "$SM_T/bd.log"
    ( cd "$SM_T" && MAIL_CONFIG=$SM_STUBCONF "$dir/sendmail" "$@" ) >"$SM_T/bd.$side.out" 2>&1
    echo "status $?" >>"$SM_T/bd.$side.out"
    sleep 0.3
    cat "$SM_T/bd.log" >>"$SM_T/bd.$side.out" 2>/dev/null
}
for sm_args in "-bd" "-bl -v -v" "-q -bd"; do
    # shellcheck disable=SC2086
    sm_bd ref "$REF_SBIN" $sm_args
    # shellcheck disable=SC2086
    sm_bd ours "$OUR_SBIN" $sm_args
    compare_files "sm-daemon $sm_args" "$SM_T/bd.ref.out" "$SM_T/bd.ours.out"
done

# mailq and newaliases: the mode follows the program name.
SM_REFLINKS=$SM_T/reflinks
SM_OURLINKS=$SM_T/ourlinks
mkdir -p "$SM_REFLINKS" "$SM_OURLINKS"
for sm_n in mailq newaliases smtpd; do
    ln -sf "$REF_SBIN/sendmail" "$SM_REFLINKS/$sm_n"
    ln -sf "$OUR_SBIN/sendmail" "$SM_OURLINKS/$sm_n"
done
sm_saved_ref=$REF_SBIN sm_saved_ours=$OUR_SBIN
REF_SBIN=$SM_REFLINKS OUR_SBIN=$SM_OURLINKS
MAIL_CONFIG=$SM_STUBCONF
export MAIL_CONFIG
compare mailq mailq
compare mailq-rcpt mailq x@example.com
compare mailq-bi mailq -bi
compare mailq-bad mailq -z
compare newaliases newaliases
compare newaliases-bp newaliases -bp
compare newaliases-t newaliases -t
compare smtpd-name-rcpt smtpd x@example.com
compare smtpd-name-q smtpd -q x@example.com
unset MAIL_CONFIG
REF_SBIN=$sm_saved_ref OUR_SBIN=$sm_saved_ours

# sendmail cannot run postdrop.
SM_IN=$SM_M/plain
sm_run "$SM_T/nopd/ref" "$REF_SBIN/sendmail" "$SM_NOCMD" -f a@example.com b@example.com
sm_run "$SM_T/nopd/ours" "$OUR_SBIN/sendmail" "$SM_NOCMD" -f a@example.com b@example.com
sm_same no-postdrop "$SM_T/nopd/ref" "$SM_T/nopd/ours"
SM_IN=/dev/null

# --- postdrop alone, on hand-made record streams
# rec TYPE TEXT - one record (data shorter than 128 bytes).
rec() {
    printf '%s' "$1"
    printf "\\$(printf '%03o' "${#2}")"
    printf '%s' "$2"
}
SM_R=$SM_T/records
mkdir -p "$SM_R"
{ rec A rewrite_context=local; rec F 'Full'; rec S a@example.com; rec R b@example.com; rec M ''
  rec N 'Subject: x'; rec N ''; rec L 'part'; rec N 'line'; rec X ''; rec R c@example.com; rec E ''; } >"$SM_R/good"
{ rec A encoding=8bit; rec A 'envelope_id=xyz'; rec A ret_flags=2; rec A 'notify_flags = 6 '; rec A dsn_orig_rcpt=rfc822\;b@example.com
  rec A create_time=1; rec A trace_flags=1024; rec A rewrite_context=remote; rec A rewrite_context=bogus; rec A encoding=binary
  rec A 'queue_id=ABC'; rec A 'noequals'; rec A '=novalue'
  rec S a@example.com; rec n '4'; rec i 'env'; rec V '+='; rec R b@example.com; rec M ''; rec N body; rec X ''; rec A notify_flags=2; rec R c@example.com; rec E ''; } >"$SM_R/attrs"
{ rec S a@example.com; rec R b@example.com; rec M ''; rec N body; rec X ''; rec E ''; } >"$SM_R/minimal"
{ rec S a@example.com; rec M ''; rec N body; rec X ''; rec E ''; } >"$SM_R/norcpt"
{ rec R b@example.com; rec M ''; rec N body; rec X ''; rec E ''; } >"$SM_R/nosender"
{ rec T '1 2'; rec S a@example.com; rec R b@example.com; rec M ''; rec X ''; rec E ''; } >"$SM_R/time"
{ rec S a@example.com; rec R b@example.com; rec M ''; rec N body; rec S late@example.com; rec X ''; rec E ''; } >"$SM_R/order"
{ rec S a@example.com; rec R b@example.com; rec p '0'; rec M ''; rec X ''; rec E ''; } >"$SM_R/pointer"
{ rec S a@example.com; rec R b@example.com; rec M ''; rec N body; } >"$SM_R/noend"
{ rec S a@example.com; rec R b@example.com; rec M ''; printf 'N\005ab'; } >"$SM_R/truncated"
{ rec S a@example.com; printf 'R\377\377\377\377\177'; } >"$SM_R/lenbits"
{ rec S a@example.com; printf 'R\200\200\001'; head -c 16384 /dev/zero; } >"$SM_R/toolong"
{ rec S a@example.com; printf 'R'; } >"$SM_R/eoflen"
{ printf 'S\011a\000b@x.com'; rec R b@example.com; rec M ''; rec N body; rec X ''; rec E ''; } >"$SM_R/nulsender"
{ rec S a@example.com; rec R b@example.com; rec M ''; rec N body; rec X ''; rec E ''; rec N trailing; } >"$SM_R/afterend"
: >"$SM_R/empty"
{ rec S other@example.com; rec R b@example.com; rec M ''; rec N body; rec X ''; rec E ''; } >"$SM_R/other-sender"

# pd_case NAME FILE ARGS... - postdrop run directly, both sides.
pd_case() {
    local name=$1 in=$2; shift 2
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local d="$SM_T/pd/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')"
    SM_IN=$in sm_run "$d/ref" "$REF_SBIN/postdrop" "$SM_REF" "$@"
    SM_IN=$in sm_run "$d/ours" "$SM_OURCMD/postdrop" "$SM_OURS" "$@"
    sm_same "postdrop-$name" "$d/ref" "$d/ours"
}
for sm_r in good attrs minimal norcpt nosender time order pointer noend truncated lenbits toolong eoflen nulsender afterend empty; do
    pd_case "$sm_r" "$SM_R/$sm_r"
done
pd_case r-option "$SM_R/good" -r
pd_case bad-option "$SM_R/good" -z
pd_case c-option "$SM_R/good" -c "$SM_T/elsewhere"
SM_AS="setpriv --reuid=nobody --regid=postdrop --clear-groups"
pd_case nobody "$SM_R/minimal"
pd_case nobody-v "$SM_R/minimal" -v
sm_conf "$SM_REF" "$REF_SBIN" "authorized_submit_users = !nobody, static:anyone"
sm_conf "$SM_OURS" "$SM_OURCMD" "authorized_submit_users = !nobody, static:anyone"
pd_case nobody-denied "$SM_R/minimal"
sm_conf "$SM_REF" "$REF_SBIN" "local_login_sender_maps = inline:{nobody=a@example.com}"
sm_conf "$SM_OURS" "$SM_OURCMD" "local_login_sender_maps = inline:{nobody=a@example.com}"
pd_case login-sender-ok "$SM_R/minimal"
pd_case login-sender-denied "$SM_R/other-sender"
SM_AS=
sm_conf "$SM_REF" "$REF_SBIN"
sm_conf "$SM_OURS" "$SM_OURCMD"

# A signal removes the unfinished file.
sm_sig() {
    local prog=$1 conf=$2 fifo=$SM_T/sig.fifo before after
    rm -f "$fifo"; mkfifo "$fifo"
    before=$(ls "$SM_Q/maildrop" | wc -l)
    MAIL_CONFIG=$conf "$prog" <"$fifo" >/dev/null 2>&1 &
    local pid=$!
    exec 9>"$fifo"
    rec S a@example.com >&9
    sleep 0.5
    local during
    during=$(ls "$SM_Q/maildrop" | wc -l)
    kill -TERM "$pid"
    wait "$pid"
    local st=$?
    exec 9>&-
    after=$(ls "$SM_Q/maildrop" | wc -l)
    echo "status $st during $((during - before)) after $((after - before))"
}
sm_sig "$REF_SBIN/postdrop" "$SM_REF" >"$SM_T/sig.ref"
sm_sig "$SM_OURCMD/postdrop" "$SM_OURS" >"$SM_T/sig.ours"
compare_files postdrop-sigterm "$SM_T/sig.ref" "$SM_T/sig.ours"

# --- a reference pickup and cleanup take a message queued by our programs
rm -f "$SM_Q"/maildrop/*
if inst_start "$SM_REF" >/dev/null 2>&1; then
    trap 'inst_stop "$SM_REF"; rm -rf "$COMPAT_TMP"' EXIT
    sleep 1
    SM_IN=$SM_M/torcpt
    ( cd "$SM_T" && MAIL_CONFIG=$SM_OURS "$OUR_SBIN/sendmail" -t -f pickup@example.com ) <"$SM_IN" 2>"$SM_T/pickup.err"
    SM_IN=/dev/null
    sm_ok=0
    for sm_i in $(seq 1 50); do
        if [ -z "$(ls "$SM_Q/maildrop")" ] && [ -n "$(find "$SM_Q/incoming" -type f)" ]; then sm_ok=1; break; fi
        sleep 0.2
    done
    if [ $sm_ok = 1 ]; then
        sm_f=$(find "$SM_Q/incoming" -type f | head -1)
        "$REF_SBIN/postcat" -c "$SM_REF" -e "$sm_f" 2>/dev/null | grep -E '^(sender|recipient):' >"$SM_T/pickup.got"
        printf 'sender: pickup@example.com\nrecipient: t1@example.com\nrecipient: t2@example.com\nrecipient: c1@example.com\nrecipient: b1@example.com\n' >"$SM_T/pickup.want"
        compare_files pickup-accepts-ours "$SM_T/pickup.want" "$SM_T/pickup.got"
    else
        echo "FAIL pickup-accepts-ours (maildrop file not picked up)"
        cat "$SM_T/pickup.err" "$SM_T/maillog" 2>/dev/null | tail -5 | sed 's/^/    /'
        record pickup-accepts-ours 0
    fi
    inst_stop "$SM_REF"
    trap 'rm -rf "$COMPAT_TMP"' EXIT
else
    echo "FAIL pickup-accepts-ours (reference instance did not start)"
    record pickup-accepts-ours 0
fi
