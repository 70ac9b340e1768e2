# cleanup.sh - cleanup(8) and pickup(8) against the reference. Three
# private instances (loopback only, no qmgr) get the same maildrop files
# one message at a time: REF runs only reference daemons, OURC runs our
# cleanup with reference pickup, OURP our pickup with reference cleanup.
# For every message the queue files that land in incoming/ or hold/
# (including bounce notices the reference bounce daemon injects through
# the instance's cleanup) are printed with the reference postcat -r and
# compared after queue IDs and creation times are normalized; so are the
# cleanup (or pickup) log lines, and whether the maildrop file was
# consumed.
#
# Needs root, the postfix user and our daemons (OUR_LIBEXEC, default
# out/libexec/postfix: links named cleanup and pickup to the multi-call
# binary). Otherwise the suite says why and runs nothing.

CL_T=$COMPAT_TMP/cl
CL_REF_LIBEXEC=${REF_LIBEXEC:-/usr/lib/postfix/sbin}
CL_OUR_LIBEXEC=${OUR_LIBEXEC:-$(cd "$(dirname "$OUR_SBIN")" && pwd)/libexec/postfix}
mkdir -p "$CL_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$CL_T"

# cl_instance NAME [DAEMON...] - config, queue and daemon directory for an
# instance whose named daemons are ours.
cl_instance() {
    local name=$1 d=$CL_T/$1 f n; shift
    inst_dirs "$d"
    mkdir -p "$d/libexec"
    for f in "$CL_REF_LIBEXEC"/*; do ln -sf "$f" "$d/libexec/$(basename "$f")"; done
    for n in "$@"; do ln -sf "$CL_OUR_LIBEXEC/$n" "$d/libexec/$n"; done
    inst_main_cf "$d" "$d/libexec"
    cat >>"$d/conf/main.cf" <<EOF
myhostname = cl.example.com
mydomain = example.com
mydestination =
enable_long_queue_ids = yes
hopcount_limit = 5
in_flow_delay = 0
message_size_limit = 300000
undisclosed_recipients_header = To: undisclosed-recipients:;
header_checks = regexp:$CL_T/header_checks
mime_header_checks = regexp:$CL_T/mime_header_checks
nested_header_checks = regexp:$CL_T/nested_header_checks
body_checks = regexp:$CL_T/body_checks
EOF
    inst_master_cf "$d" pickup cleanup rewrite bounce defer trace postlog
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

cat >"$CL_T/header_checks" <<'EOF'
/^Subject: reject-me/ REJECT rejected by test
/^Subject: defer-me/ REJECT 4.7.1 try later
/^Subject: warn-me/ WARN watch this
/^Subject: info-me/ INFO noted
/^Subject: hold-me/ HOLD held for review
/^Subject: discard-me/ DISCARD
/^Subject: filter-me/ FILTER smtp:[127.0.0.1]:10025
/^Subject: redirect-me/ REDIRECT elsewhere@example.net
/^Subject: bcc-me/ BCC copy@example.net
/^Subject: prepend-me/ PREPEND X-Prepended: yes
/^Subject: replace-me(.*)/ REPLACE Subject: replaced$1
/^X-Ignore-Me:/ IGNORE
/^X-Strip-Me:/ STRIP stripped
/^Subject: dunno-me/ DUNNO
/^Subject: ok-me/ OK
/^Subject: pass-me/ PASS
/^Subject: bogus-me/ FROBNICATE
/^Subject: badprepend/ PREPEND not a header
/^Subject: badredirect/ REDIRECT nobody
EOF
cat >"$CL_T/mime_header_checks" <<'EOF'
/^Content-Description: warn-mime/ WARN mime header seen
/^Content-Disposition: .*evil/ REJECT bad attachment
EOF
cat >"$CL_T/nested_header_checks" <<'EOF'
/^Subject: nested-warn/ WARN nested header seen
EOF
cat >"$CL_T/body_checks" <<'EOF'
/^body-reject/ REJECT body rejected
/^body-warn/ WARN body warning
/^body-replace (.*)/ REPLACE replaced body $1
/^body-prepend/ PREPEND inserted line
/^body-ignore/ IGNORE
/^body-hold/ HOLD
EOF

CL_OK=
if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1; then
    echo "cleanup: skipped: needs root and the postfix user"
elif [ ! -x "$CL_OUR_LIBEXEC/cleanup" ] || [ ! -x "$CL_OUR_LIBEXEC/pickup" ]; then
    echo "cleanup: skipped: our daemons are not built ($CL_OUR_LIBEXEC/cleanup, pickup; make daemons)"
else
    cl_instance stage
    cl_instance ref
    cl_instance ourc cleanup
    cl_instance ourp pickup
    CL_OK=1
    for cl_i in stage ref ourc ourp; do
        "$REF_SBIN/postfix" -c "$CL_T/$cl_i/conf" check >/dev/null 2>&1 || CL_OK=
    done
    [ -z "$CL_OK" ] && echo "cleanup: skipped: postfix check failed for a private instance"
fi

cl_stop() {
    for cl_i in ref ourc ourp; do inst_stop "$CL_T/$cl_i/conf"; done
}
if [ -n "$CL_OK" ]; then
    cl_old_trap=$(trap -p EXIT)
    trap 'cl_stop; rm -rf "$COMPAT_TMP"' EXIT
    for cl_i in ref ourc ourp; do
        inst_start "$CL_T/$cl_i/conf" >/dev/null 2>&1 || CL_OK=
    done
    [ -z "$CL_OK" ] && { echo "cleanup: skipped: a private instance did not start"; cl_stop; }
    sleep 1
fi

# cl_norm - queue IDs, times and PIDs made comparable (postcat output or log).
cl_norm() {
    sed -E -e 's/[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]+/QID/g' \
        -e 's/create_time=[0-9]+/create_time=T/; s/^create_time: .*/create_time: T/' \
        -e 's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [^ ]+ //; s/\[[0-9]+\]:/:/' \
        -e 's/, delay=[0-9.]+, delays=[0-9.\/]+,/, delay=D, delays=D,/' \
        -e 's/message dated [0-9]+ seconds into/message dated N seconds into/' \
        -e 's#'"$CL_T"'/[a-z]+/#T/#g'
}

# cl_bounce_norm - a bounce notice's own dates (made at different times,
# so its arrival time record and offsets may differ in length too).
cl_bounce_norm() {
    sed -E -e 's/^(regular_text: )?(Date|Arrival-Date): .*/\1\2: D/' \
        -e 's/^(message_arrival_time): .*/\1: T/' -e 's/^(message_size): .*/\1: S/' -e 's/QID\.[0-9]+\//QID.T\//g' \
        -e 's/^(time|arrival_time): .*/\1: T/' -e 's/^([[:space:]]+id QID;) .*/\1 D/'
}

# cl_snapshot INSTANCE OUT - the instance's queue files, printed and
# normalized, one block per file, blocks sorted.
cl_snapshot() {
    local d=$CL_T/$1 f out=$2 tmp
    # One line per file while sorting (the order of queue IDs is arbitrary).
    for f in $(cd "$d/q" && find incoming hold -type f 2>/dev/null); do
        tmp=$("$REF_SBIN/postcat" -c "$d/conf" -r "$d/q/$f" 2>&1 | cl_norm)
        if echo "$tmp" | grep -q '^sender: $'; then tmp=$(echo "$tmp" | cl_bounce_norm); fi
        printf '%s\n%s\n' "=== ${f%%/*}" "$tmp" | tr '\n' '\001'; echo
    done | sort | tr '\001' '\n' >"$out"
}

CL_MSGS=$CL_T/msgs
mkdir -p "$CL_MSGS"
CL_N=0

# cl_case NAME SENDMAIL-ARGS... < MESSAGE - submit once (stage instance,
# no master: the maildrop file stays), then run it through the three.
cl_case() {
    local name=$1 f; shift
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) cat >/dev/null; return 0;; esac
    rm -f "$CL_T"/stage/q/maildrop/*
    MAIL_CONFIG=$CL_T/stage/conf "$REF_SBIN/sendmail" "$@" 2>/dev/null
    f=$(ls "$CL_T/stage/q/maildrop" | head -1)
    if [ -z "$f" ]; then
        echo "FAIL cleanup-$name (no maildrop file from the reference sendmail)"; record "cleanup-$name" 0; return
    fi
    cl_run "$name" "$CL_T/stage/q/maildrop/$f"
}

# cl_file NAME FILE MODE OWNER [TOUCH-DATE] - a hand-made maildrop file.
cl_file() {
    local name=$1 src=$2 mode=$3 owner=$4 when=${5:-} f=$CL_T/stage/q/maildrop/4jWmHANDAAz1abc
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    rm -f "$CL_T"/stage/q/maildrop/*
    cp "$src" "$f" && chmod "$mode" "$f" && chown "$owner" "$f"
    [ -n "$when" ] && touch -d "$when" "$f"
    cl_run "$name" "$f"
}

# cl_run NAME MAILDROP-FILE - copy the file into the three instances, kick
# their pickup, wait until the maildrop directories are empty, compare.
cl_run() {
    local name=$1 src=$2 f i n ok=1 d
    f=$(basename "$src")
    for i in ref ourc ourp; do
        d=$CL_T/$i
        find "$d/q/incoming" "$d/q/hold" -type f -delete 2>/dev/null
        wc -l <"$d/maillog" >"$d/logpos" 2>/dev/null || echo 0 >"$d/logpos"
        cp -p "$src" "$d/q/maildrop/$f"
        MAIL_CONFIG=$d/conf "$REF_SBIN/postkick" public pickup W 2>/dev/null
    done
    for n in $(seq 1 50); do
        [ -z "$(find "$CL_T/ref/q/maildrop" "$CL_T/ourc/q/maildrop" "$CL_T/ourp/q/maildrop" -type f)" ] && break
        [ -n "${CL_DEBUG:-}" ] && for i in ref ourc ourp; do [ -n "$(ls "$CL_T/$i/q/maildrop")" ] && echo "$n waiting for $i"; done
        sleep 0.1
    done
    sleep 0.3
    for i in ref ourc ourp; do
        d=$CL_T/$i
        cl_snapshot "$i" "$d/snap"
        ls "$d/q/maildrop" | sed 's/.*/maildrop file left/' >>"$d/snap"
        tail -n +"$(( $(cat "$d/logpos") + 1 ))" "$d/maillog" 2>/dev/null | cl_norm >"$d/log"
        grep -E '^postfix/cleanup:' "$d/log" >"$d/log.cleanup"
        grep -E '^postfix/pickup:' "$d/log" >"$d/log.pickup"
        rm -f "$d"/q/maildrop/*
    done
    for i in ourc ourp; do
        if ! cmp -s "$CL_T/ref/snap" "$CL_T/$i/snap"; then
            echo "FAIL cleanup-$name ($i: queue files differ)"
            diff -u "$CL_T/ref/snap" "$CL_T/$i/snap" | sed -n "1,${DIFF_LINES:-25}p" | sed 's/^/    /'
            ok=0
        fi
    done
    if ! cmp -s "$CL_T/ref/log.cleanup" "$CL_T/ourc/log.cleanup"; then
        echo "FAIL cleanup-$name (cleanup log lines differ)"
        diff -u "$CL_T/ref/log.cleanup" "$CL_T/ourc/log.cleanup" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        ok=0
    fi
    if ! cmp -s "$CL_T/ref/log.pickup" "$CL_T/ourp/log.pickup"; then
        echo "FAIL cleanup-$name (pickup log lines differ)"
        diff -u "$CL_T/ref/log.pickup" "$CL_T/ourp/log.pickup" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        ok=0
    fi
    # The test must see something: a queue file or a logged decision.
    if [ ! -s "$CL_T/ref/snap" ] && [ ! -s "$CL_T/ref/log.cleanup" ] && [ ! -s "$CL_T/ref/log.pickup" ]; then
        echo "FAIL cleanup-$name (the reference produced nothing to compare)"; ok=0
    fi
    record "cleanup-$name" $ok
    CL_N=$((CL_N + 1))
}

if [ -n "$CL_OK" ]; then
    M=$CL_MSGS
    printf 'Subject: hi\nFrom: a@example.com\nTo: b@example.com\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m1@example.com>\n\nhello world\n' >"$M/plain"
    printf 'Subject: no from, date, message-id or to\n\nbody\n' >"$M/missing"
    printf 'no header at all\n\nbody\n' >"$M/nohdr"
    : >"$M/empty"
    printf 'To: t1@example.com, t2\nCc: c1@example.com\nBcc: b1@example.com, b2\nSubject: extract\n\nbody\n' >"$M/torcpt"
    printf 'Resent-From: r@example.com\nResent-To: rt\nSubject: resent\nFrom: orig@example.com\n\nbody\n' >"$M/resent"
    printf 'Resent-Cc: rc@example.com\nSubject: resent without from\n\nbody\n' >"$M/resent2"
    {
        printf 'Subject: long lines\nX-Long: '; head -c 3000 /dev/zero | tr '\0' 'h'; printf '\n\n'
        head -c 5000 /dev/zero | tr '\0' 'b'; printf '\n'
        head -c 2048 /dev/zero | tr '\0' 'x'; printf '\n'
        printf 'end\n'
    } >"$M/long"
    {
        printf 'Subject: huge header\nX-Huge: start\n'
        for cl_k in $(seq 1 1500); do printf '\tcontinuation line %05d of a very long folded header here\n' "$cl_k"; done
        printf 'X-After: kept\n\nbody\n'
    } >"$M/hugeheader"
    { printf 'Subject: too big\n\n'; for cl_k in $(seq 1 5000); do printf 'line %05d of a message that exceeds the size limit\n' "$cl_k"; done; } >"$M/toobig"
    printf 'Subject: =?ISO-8859-1?Q?caf=E9?=\nFrom: r\xe9sum\xe9 <a@example.com>\nContent-Transfer-Encoding: 8bit\n\n8-bit: caf\xe9 na\xefve \xc3\xa9t\xc3\xa9\n' >"$M/8bit"
    cat >"$M/mime" <<'EOF'
Subject: mime
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

preamble
--XYZ
Content-Type: text/plain; charset=us-ascii
Content-Description: warn-mime part

part one
--XYZ
Content-Type: message/rfc822

Subject: nested-warn inner
From: x@example.com
To: inner

inner body
--XYZ--
epilogue
EOF
    cat >"$M/mimereject" <<'EOF'
Subject: attachment
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="evil.exe"

AAAA
--b1--
EOF
    {
        for cl_k in 1 2 3 4 5; do printf 'Received: from hop%d by relay%d; Mon, 1 Jan 2024 00:00:0%d +0000\n' "$cl_k" "$cl_k" "$cl_k"; done
        printf 'Subject: too many hops\n\nbody\n'
    } >"$M/hops"
    printf 'Subject: addresses\nFrom: Joe User <joe>, "Quoted Name" <q@example.com>\nTo: group: a, b@example.com;, c (comment)\nCc: <>, d@[127.0.0.1]\nReply-To: e\nReturn-Path: <rp@example.com>\nDelivered-To: dt@example.com\nContent-Length: 99\n\nbody\n' >"$M/addresses"
    printf 'Subject: folded\nTo: aaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccccccccccccccc, ddddddddddddddddddd,\n eeeeeeeeeeeeeeeeeeeeee, fffffff\n\nbody\n' >"$M/folded"
    printf 'Subject: s\n\n body starts with a space\n.\n..\nFrom the start\n' >"$M/bodyspace"
    printf ' leading space line\nSubject: x\n\nb\n' >"$M/leadingspace"
    printf 'Subject: no newline\n\nlast line without newline' >"$M/nonl"

    cl_case plain -f a@example.com b@example.com <"$M/plain"
    cl_case missing -f a@example.com b@example.com <"$M/missing"
    cl_case fullname -f a@example.com -F 'Alice Q. User' b@example.com <"$M/missing"
    cl_case fullname-special -f a@example.com -F 'Doe, John (Jr.)' b@example.com <"$M/missing"
    cl_case unqualified -f alice bob carol <"$M/missing"
    cl_case nullsender -f '' b@example.com <"$M/missing"
    cl_case mailerdaemon -f MAILER-DAEMON b@example.com <"$M/missing"
    cl_case nohdr -f a@example.com b@example.com <"$M/nohdr"
    cl_case empty -f a@example.com b@example.com <"$M/empty"
    cl_case extract-t -f a@example.com -t <"$M/torcpt"
    cl_case resent -f a@example.com x@example.com <"$M/resent"
    cl_case resent-nofrom -f a@example.com x@example.com <"$M/resent2"
    cl_case duplicates -f a@example.com b@example.com b@example.com B@EXAMPLE.COM c <"$M/plain"
    cl_case dsn -f a@example.com -N success,delay,failure -R hdrs -V env-id-1 b@example.com c@example.com <"$M/plain"
    cl_case notify-never -f a@example.com -N never b@example.com <"$M/plain"
    cl_case verp -f list@example.com -XV b@example.com <"$M/plain"
    cl_case long -f a@example.com b@example.com <"$M/long"
    cl_case hugeheader -f a@example.com b@example.com <"$M/hugeheader"
    cl_case toobig -f a@example.com b@example.com <"$M/toobig"
    cl_case 8bit -f a@example.com -F $'Ren\xe9' b@example.com <"$M/8bit"
    cl_case mime -f a@example.com b@example.com <"$M/mime"
    cl_case mime-reject -f a@example.com b@example.com <"$M/mimereject"
    cl_case hops -f a@example.com b@example.com <"$M/hops"
    cl_case addresses -f a@example.com b@example.com <"$M/addresses"
    cl_case folded -f a@example.com b@example.com <"$M/folded"
    cl_case bodyspace -f a@example.com b@example.com <"$M/bodyspace"
    cl_case leadingspace -f a@example.com b@example.com <"$M/leadingspace"
    cl_case nonl -f a@example.com b@example.com <"$M/nonl"
    for cl_a in reject defer warn info hold discard filter redirect bcc prepend replace dunno ok pass bogus; do
        printf 'Subject: %s-me please\nX-Ignore-Me: gone\nX-Strip-Me: gone too\n\nbody\n' "$cl_a" >"$M/hc-$cl_a"
        cl_case "header-$cl_a" -f a@example.com b@example.com <"$M/hc-$cl_a"
    done
    printf 'Subject: badprepend\n\nbody\n' >"$M/badprepend"
    cl_case header-badprepend -f a@example.com b@example.com <"$M/badprepend"
    printf 'Subject: badredirect\n\nbody\n' >"$M/badredirect"
    cl_case header-badredirect -f a@example.com b@example.com <"$M/badredirect"
    for cl_a in reject warn replace prepend ignore hold; do
        printf 'Subject: body %s\n\nfirst line\nbody-%s this line\nlast line\n' "$cl_a" "$cl_a" >"$M/bc-$cl_a"
        cl_case "body-$cl_a" -f a@example.com b@example.com <"$M/bc-$cl_a"
    done

    # cl_reconf SETTING... - change main.cf of the three, restart them.
    cl_reconf() {
        cl_stop
        for cl_i in ref ourc ourp; do
            "$REF_SBIN/postconf" -c "$CL_T/$cl_i/conf" -e "$@"
            find "$CL_T/$cl_i/conf" -type f -exec touch -d '1 minute ago' {} +
            inst_start "$CL_T/$cl_i/conf" >/dev/null 2>&1
        done
    }

    # Hand-made maildrop files: what pickup accepts, drops or refuses.
    H=$CL_T/hand
    mkdir -p "$H"
    cl_rec() {
        local type=$1 tmp len
        tmp=$(mktemp "$H/rec.XXXXXX")
        printf -- "$2" >"$tmp"
        len=$(stat -c %s "$tmp")
        printf '%s' "$type"
        while [ "$len" -ge 128 ]; do printf "\\$(printf '%03o' $(( (len & 127) | 128 )))"; len=$((len >> 7)); done
        printf "\\$(printf '%03o' "$len")"
        cat "$tmp"; rm -f "$tmp"
    }
    cl_body() { cl_rec M ''; cl_rec N 'Subject: hand made'; cl_rec N ''; cl_rec N 'body'; cl_rec X ''; cl_rec E ''; }
    { cl_rec T '1700000000 123456'; cl_rec A 'rewrite_context=local'; cl_rec S 'a@example.com'; cl_rec R 'b@example.com'; cl_body; } >"$H/good"
    { cl_rec A 'rewrite_context=local'; cl_rec S 'a@example.com'; cl_rec R 'b@example.com'; cl_body; } >"$H/notime"
    { cl_rec T '1700000000 0'; cl_rec R 'b@example.com'; cl_body; } >"$H/nosender"
    { cl_rec T '1700000000 0'; cl_rec S 'a@example.com'; cl_rec N 'text in the envelope'; cl_body; } >"$H/badrecord"
    { cl_rec T '1700000000 0'; cl_rec S 'a@example.com'; cl_rec R 'b@example.com'; cl_rec M ''; cl_rec N 'Subject: x'; } >"$H/truncated"
    {
        cl_rec T '1700000000 0'; cl_rec L 'smtp:[127.0.0.1]:10025'; cl_rec '>' 'redirect@example.com'
        cl_rec S 'a@example.com'; cl_rec R 'b@example.com'; cl_rec M ''; cl_rec N 'Subject: requeued'; cl_rec N ''; cl_rec N 'b'
        cl_rec X ''; cl_rec r 'rr@example.com'; cl_rec e 'et@example.com'; cl_rec A 'action=x'; cl_rec A 'notify_flags=2'
        cl_rec R 'extracted@example.com'; cl_rec E ''
    } >"$H/postsuper"
    {
        cl_rec T '1700000000 0'; cl_rec S 'a@example.com'; cl_rec R 'b@example.com'; cl_rec M ''
        cl_rec L 'Subject: a long '; cl_rec L 'header in '; cl_rec N 'pieces'; cl_rec N ''
        cl_rec L 'body '; cl_rec L 'in pieces'; cl_rec N ''; cl_rec L 'unterminated at the end'; cl_rec X ''; cl_rec E ''
    } >"$H/cont"
    {
        cl_rec T '1700000000 0'; cl_rec S 'a@example.com'; cl_rec A 'notify_flags=99'; cl_rec A 'dsn_orig_rcpt=rfc822;x@example.com'
        cl_rec R 'b@example.com'; cl_rec O 'orig1@example.com'; cl_rec O 'orig2@example.com'; cl_rec R 'c@example.com'
        cl_rec V '+='; cl_rec A 'trace_flags=junk'; cl_body
    } >"$H/oddenvelope"
    { cl_rec T '1700000000 0'; cl_rec S ''; cl_rec V '+='; cl_rec R 'b@example.com'; cl_body; } >"$H/verpnull"
    { cl_rec T '1700000000 0'; cl_rec S 'a@example.com'; cl_rec R 'b@example.com'; cl_rec M ''; cl_rec N 'Subject: no received'; cl_rec N ''; cl_rec N 'b'; cl_rec X ''; cl_rec E ''; } >"$H/plainbody"
    cl_file md-good "$H/good" 744 root
    cl_file md-notime "$H/notime" 744 root '2024-01-02 03:04:05'
    cl_file md-old "$H/notime" 744 root '3 days ago'
    cl_file md-future "$H/notime" 744 root 'tomorrow'
    cl_file md-nosender "$H/nosender" 744 root
    cl_file md-badrecord "$H/badrecord" 744 root
    cl_file md-truncated "$H/truncated" 744 root
    cl_file md-notready "$H/good" 644 root
    cl_file md-requeued "$H/postsuper" 700 postfix
    cl_file md-requeued-readable "$H/postsuper" 744 postfix
    cl_file md-cont "$H/cont" 744 root
    cl_file md-oddenvelope "$H/oddenvelope" 744 root
    cl_file md-verpnull "$H/verpnull" 744 root
    cl_file md-nobody "$H/plainbody" 744 nobody
    cl_file md-unreadable "$H/good" 700 root

    # A second configuration for the same three instances.
    cl_reconf 'always_bcc = bcc@example.com' 'delay_warning_time = 4h' 'header_from_format = obsolete' \
        'message_reject_characters = ~' 'message_strip_characters = \177' 'strict_7bit_headers = yes' \
        'strict_8bitmime_body = yes' 'strict_mime_encoding_domain = yes' 'enable_original_recipient = no' \
        'content_filter = smtp:[127.0.0.1]:10026'
    sleep 1
    cl_case conf2-plain -f a@example.com -F 'Alice (A) User' b@example.com <"$M/missing"
    cl_case conf2-duplicates -f a@example.com b@example.com b@example.com B@EXAMPLE.COM <"$M/plain"
    cl_case conf2-8bit -f a@example.com b@example.com <"$M/8bit"
    printf 'Subject: tilde\n\na ~ here\n' >"$M/tilde"
    cl_case conf2-reject-char -f a@example.com b@example.com <"$M/tilde"
    printf 'Subject: del\x7f char\n\nbody\x7f\n' >"$M/del"
    cl_case conf2-strip-char -f a@example.com b@example.com <"$M/del"
    printf 'Subject: bad domain\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\nContent-Transfer-Encoding: base64\n\n--x\n\nb\n--x--\n' >"$M/baddomain"
    cl_case conf2-encoding-domain -f a@example.com b@example.com <"$M/baddomain"
    cl_case conf2-nullsender -f '' b@example.com <"$M/missing"
    cl_file conf2-md-good "$H/good" 744 root

    # A third configuration: address mapping tables.
    cl_reconf 'always_bcc =' 'content_filter =' 'header_from_format = standard' 'enable_original_recipient = yes' \
        'recipient_delimiter = +' \
        'canonical_maps = inline:{ alice@example.com=ally@example.net, carol@example.com=@example.org, {loop1@example.com=loop2@example.com}, {loop2@example.com=loop1@example.com} }' \
        'sender_canonical_maps = inline:{ a@example.com=sender@example.org }' \
        'recipient_canonical_maps = inline:{ dave@example.com=david@example.org }' \
        'virtual_alias_maps = inline:{ {list@example.com = m1@example.net, m2@example.net, list@example.com}, {fwd@example.com = bob@example.com}, {self@example.com = self@example.com} }' \
        'recipient_bcc_maps = inline:{ bob@example.com=watch@example.net }' \
        'sender_bcc_maps = inline:{ sender@example.org=sent@example.net }' \
        'masquerade_domains = !keep.example.com, example.com' 'masquerade_exceptions = root' \
        'masquerade_classes = envelope_sender, envelope_recipient, header_sender, header_recipient'
    sleep 1
    printf 'From: alice\nTo: carol, dave@example.com, list@example.com\nCc: "Name" <loop1@example.com>\nSubject: maps\n\nbody\n' >"$M/maps"
    cl_case conf3-canonical -f a@example.com alice carol dave@example.com <"$M/maps"
    cl_case conf3-extension -f alice+tag@example.com carol+x@example.com dave+y@example.com <"$M/maps"
    cl_case conf3-virtual -f b@example.com list@example.com fwd@example.com self@example.com <"$M/maps"
    cl_case conf3-virtual-dsn -f b@example.com -N success,failure list@example.com <"$M/maps"
    cl_case conf3-bcc -f a@example.com bob@example.com <"$M/maps"
    cl_case conf3-loop -f b@example.com loop1@example.com <"$M/maps"
    printf 'From: x@host.example.com\nTo: y@a.keep.example.com, root@h.example.com, z@example.com.evil\nSubject: masq\n\nbody\n' >"$M/masq"
    cl_case conf3-masquerade -f u@host.sub.example.com v@mail.example.com w@b.keep.example.com root@x.example.com <"$M/masq"

    cl_stop
    eval "$cl_old_trap"
    echo "cleanup: $CL_N messages compared"
fi
