# postcat.sh - postcat(1) against the reference on queue files made at
# test time: maildrop files from the reference sendmail/postdrop, queue
# files written by a reference cleanup (a private instance, loopback only,
# no qmgr, stopped again at once), and hand-made record streams for the
# damaged and unusual cases. Every option and combination, -q lookups
# across queues (hashed directories, long queue IDs), stdin as a file and
# as a pipe, and the error paths.
#
# Needs root (postfix check, postdrop, a private master). Without root,
# or when the reference instance does not start, the cases that need
# those files are skipped with a message; the hand-made ones still run.

PC_T=$COMPAT_TMP/pcq
# postcat only reads: both sides of a case run at the same time.
COMPARE_PARALLEL=1
PC_Q=$PC_T/q
mkdir -p "$PC_T"
# The Postfix daemons (user postfix) must reach the private queue.
chmod 711 "$COMPAT_TMP"
chmod 755 "$PC_T"

# pc_conf DIR EXTRA... - a main.cf for the private queue.
pc_conf() {
    local d=$1; shift
    mkdir -p "$d"
    # Defaults first, minus those that EXTRA sets again.
    {
        echo "queue_directory = $PC_Q"
        echo "data_directory = $PC_T/data"
        echo "maillog_file = $PC_T/maillog"
        echo "maillog_file_prefixes = $PC_T"
        echo "compatibility_level = 3.6"
        echo "inet_interfaces = loopback-only"
        echo "inet_protocols = ipv4"
        echo "myhostname = pc.example.com"
        echo "mydomain = example.com"
        echo "mydestination ="
        echo "hash_queue_names = deferred, defer, hold"
        echo "hash_queue_depth = 2"
    } | while IFS= read -r pc_line; do
        pc_skip=
        for pc_x in "$@"; do [ "${pc_line%% =*}" = "${pc_x%% =*}" ] && pc_skip=1; done
        [ -z "$pc_skip" ] && echo "$pc_line"
    done >"$d/main.cf"
    for pc_x in "$@"; do echo "$pc_x"; done >>"$d/main.cf"
    find "$d" -maxdepth 1 -type f -exec touch -d '1 minute ago' {} +
}

PC_CONF=$PC_T/conf
pc_conf "$PC_CONF" "header_checks = regexp:$PC_T/conf/header_checks"
printf '/^Subject: hold me/ HOLD\n' >"$PC_CONF/header_checks"
# Only what turns a maildrop file into a queue file: no qmgr, no smtpd.
cat >"$PC_CONF/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
# A second configuration: no hashing (-q must not find hashed files).
PC_FLAT=$PC_T/flat
pc_conf "$PC_FLAT" "hash_queue_names = defer"

PC_ROOT=
if [ "$(id -u)" = 0 ] && mkdir -p "$PC_Q" "$PC_T/data" && chown postfix "$PC_T/data" 2>/dev/null \
    && "$REF_SBIN/postfix" -c "$PC_CONF" check >/dev/null 2>&1; then
    PC_ROOT=1
else
    echo "postcat: skipped: cases with reference-made queue files need root and the postfix user"
fi

# pc_submit NAME SENDMAIL-ARGS... < MESSAGE - a maildrop file; its path
# (relative to the queue directory) goes into PC_FILE_NAME.
pc_submit() {
    local name=$1; shift
    local before after f
    before=$(ls "$PC_Q/maildrop" | sort)
    MAIL_CONFIG=$PC_CONF "$REF_SBIN/sendmail" "$@" 2>/dev/null
    after=$(ls "$PC_Q/maildrop" | sort)
    f=$(comm -13 <(echo "$before") <(echo "$after") | head -1)
    eval "PC_FILE_$name=maildrop/$f"
}

PC_MSGS=$PC_T/msgs
mkdir -p "$PC_MSGS"
printf 'Subject: hi\nFrom: a@example.com\n\nhello world\n' >"$PC_MSGS/plain"
{
    printf 'Subject: long lines\nX-Long: '; head -c 3000 /dev/zero | tr '\0' 'h'; printf '\n\n'
    head -c 5000 /dev/zero | tr '\0' 'b'; printf '\n'
    head -c 2048 /dev/zero | tr '\0' 'x'; printf '\n'
    printf 'end\n'
} >"$PC_MSGS/long"
printf 'Subject: =?ISO-8859-1?Q?caf=E9?=\nFrom: r\xe9sum\xe9 <a@example.com>\n\n8-bit: caf\xe9 na\xefve \xc3\xa9t\xc3\xa9\n' >"$PC_MSGS/8bit"
cat >"$PC_MSGS/mime" <<'EOF'
Subject: mime
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

preamble
--XYZ
Content-Type: text/plain; charset=us-ascii

part one
--XYZ
Content-Type: message/rfc822

Subject: inner
From: x@example.com

inner body
--XYZ--
epilogue
EOF
{
    for pc_i in $(seq 1 60); do printf 'X-Header-%d: value %d\n' "$pc_i" "$pc_i"; done
    printf 'Subject: many\nX-Folded: first\n\tsecond\n  third\n\n body\nbody starts with a space\n'
} >"$PC_MSGS/headers"
printf 'To: t1@example.com, t2@example.com\nCc: c1@example.com\nBcc: b1@example.com\nSubject: hold me\n\nheld\n' >"$PC_MSGS/torcpt"
printf 'Subject: no newline\n\nlast line without newline' >"$PC_MSGS/nonl"
printf 'no header at all\n\nbody\n' >"$PC_MSGS/nohdr"
: >"$PC_MSGS/empty"

PC_NAMES=
if [ -n "$PC_ROOT" ]; then
    pc_submit plain -f a@example.com b@example.com c@example.com <"$PC_MSGS/plain"
    pc_submit long -f a@example.com b@example.com <"$PC_MSGS/long"
    pc_submit 8bit -f a@example.com -F $'Ren\xe9' b@example.com <"$PC_MSGS/8bit"
    pc_submit mime -f a@example.com b@example.com <"$PC_MSGS/mime"
    pc_submit headers -f '' b@example.com <"$PC_MSGS/headers"
    pc_submit dsn -f a@example.com -N success,delay,failure -R hdrs -V env-id-1 b@example.com c@example.com <"$PC_MSGS/plain"
    pc_submit never -f a@example.com -N never b@example.com <"$PC_MSGS/plain"
    pc_submit verp -f list@example.com -XV b@example.com <"$PC_MSGS/plain"
    pc_submit torcpt -f a@example.com -t <"$PC_MSGS/torcpt"
    pc_submit nonl -f a@example.com -F 'Full Name' b@example.com <"$PC_MSGS/nonl"
    pc_submit nohdr -f a@example.com b@example.com <"$PC_MSGS/nohdr"
    pc_submit empty -f a@example.com b@example.com <"$PC_MSGS/empty"
    PC_NAMES="plain long 8bit mime headers dsn never verp torcpt nonl nohdr empty"
fi

# Keep a copy of every maildrop file: pickup consumes them.
PC_KEEP=$PC_T/keep
mkdir -p "$PC_KEEP"
for pc_n in $PC_NAMES; do
    eval "pc_f=\$PC_FILE_$pc_n"
    [ -f "$PC_Q/$pc_f" ] && cp "$PC_Q/$pc_f" "$PC_KEEP/md-$pc_n"
done

# The reference's cleanup turns the maildrop files into queue files in
# incoming/ (and hold/, for "Subject: hold me").
PC_CLEANUP=
if [ -n "$PC_ROOT" ]; then
    # Stop the instance even if the run is interrupted while it is up.
    pc_old_trap=$(trap -p EXIT)
    trap 'inst_stop "$PC_CONF"; rm -rf "$COMPAT_TMP"' EXIT
    if inst_start "$PC_CONF" >/dev/null 2>&1; then
        pc_n=$(echo $PC_NAMES | wc -w)
        for pc_i in $(seq 1 100); do
            [ "$(find "$PC_Q/incoming" "$PC_Q/hold" -type f | wc -l)" -ge "$pc_n" ] && break
            sleep 0.2
        done
        # A long queue ID too: restart with enable_long_queue_ids.
        inst_stop "$PC_CONF"
        echo "enable_long_queue_ids = yes" >>"$PC_CONF/main.cf"
        if inst_start "$PC_CONF" >/dev/null 2>&1; then
            # "Subject: hold me": a long ID in the hashed hold queue.
            MAIL_CONFIG=$PC_CONF "$REF_SBIN/sendmail" -f a@example.com -t <"$PC_MSGS/torcpt" 2>/dev/null
            for pc_i in $(seq 1 100); do
                [ "$(find "$PC_Q/incoming" "$PC_Q/hold" -type f | wc -l)" -gt "$pc_n" ] && break
                sleep 0.2
            done
            inst_stop "$PC_CONF"
        fi
        inst_stop "$PC_CONF"
        sed -i '/^enable_long_queue_ids/d' "$PC_CONF/main.cf"
        touch -d '1 minute ago' "$PC_CONF/main.cf"
        PC_CLEANUP=1
    else
        echo "postcat: skipped: the reference instance did not start; no cleanup-made queue files"
    fi
    eval "$pc_old_trap"
fi

# A deferred file in a hashed directory (depth 2), moved like qmgr does.
if [ -n "$PC_CLEANUP" ]; then
    pc_f=$(ls "$PC_Q/incoming" | grep -v z | head -1)
    if [ -n "$pc_f" ]; then
        pc_d=$PC_Q/deferred/$(echo "$pc_f" | cut -c1)/$(echo "$pc_f" | cut -c2)
        mkdir -p "$pc_d" && cp "$PC_Q/incoming/$pc_f" "$pc_d/$pc_f"
        PC_DEFERRED_ID=$pc_f
    fi
fi

# ---- hand-made record streams ----------------------------------------
PC_HAND=$PC_T/hand
mkdir -p "$PC_HAND"

# rec TYPE DATA - one record (printf escapes allowed in DATA).
rec() {
    local type=$1 data len tmp
    tmp=$(mktemp "$PC_T/rec.XXXXXX")
    printf -- "$2" >"$tmp"
    len=$(stat -c %s "$tmp")
    printf '%s' "$type"
    while :; do
        if [ "$len" -ge 128 ]; then
            printf "\\$(printf '%03o' $(( (len & 127) | 128 )))"
            len=$((len >> 7))
        else
            printf "\\$(printf '%03o' "$len")"
            break
        fi
    done
    cat "$tmp"
    rm -f "$tmp"
}

# Pieces of a minimal maildrop-style file.
pc_env() { rec T '1700000000 123456'; rec A 'rewrite_context=local'; rec F 'Full'; rec S 'a@example.com'; rec R 'b@example.com'; }
pc_mesg() { rec M ''; rec N 'Subject: x'; rec N ''; rec N 'body'; }
pc_tail() { rec X ''; rec E ''; }

{ pc_env; pc_mesg; pc_tail; } >"$PC_HAND/minimal"
# Every envelope record type, unknown ones, times in other forms.
{
    rec T '1700000000'; rec T '  1700000001 5'; rec T '-1 0'; rec T 'junk'; rec T '99999999999 1'
    rec W '1700000000'; rec W '        1700003600'; rec c '1700000000'
    rec A 'create_time=1700000000'; rec A 'create_time=notanumber'; rec A ' name = value with blanks  '
    rec A 'novalue'; rec A '=x'; rec A ''; rec A 'empty='; rec A 'a=b=c'
    rec F 'Full'; rec I 'inspector'; rec L 'smtp:[127.0.0.1]:10025'; rec S ''; rec D 'done@example.com'
    rec O 'orig@example.com'; rec / 'canceled@example.com'; rec R 'r@example.com'; rec V '+='; rec '>' 'redirect@example.com'
    rec K 'killed'; rec '<' '2'; rec i 'envid'; rec o 'rfc822;o@example.com'; rec n '14'; rec f '1'; rec d '5'; rec m '2'
    rec Z 'unknown type'; rec 'z' ''; rec P '5'; rec r 'rr@example.com'; rec e 'et@example.com'
    rec R 'with\001control\177chars'; rec R 'nul\000inside'; rec A 'nul=val\000ue'
    rec M ''; rec N 'Subject: all'; rec N ''; rec N 'b'
    rec X ''; rec R 'extracted@example.com'; rec A 'extracted=attr'; rec P '1'; rec r 'rrto'; rec e 'erto'; rec E ''
} >"$PC_HAND/alltypes"
# Text records: CONT pieces in headers and body, a CONT before X.
{
    pc_env; rec M ''
    rec L 'Subject: a long '; rec L 'header in '; rec N 'pieces'
    rec N 'X-Next: h'; rec L 'To: not-a-header-after-cont'; rec N ''
    rec N ''
    rec L 'body '; rec L 'in pieces'; rec N ''
    rec L 'unterminated at the end'
    pc_tail
} >"$PC_HAND/cont"
# Body that starts with white space, header-like body lines, no blank line.
{
    pc_env; rec M ''; rec N 'Subject: s'; rec N ' continued'; rec N 'not a header line'; rec N 'Header-Like: after body'; pc_tail
} >"$PC_HAND/nohdrsep"
{
    pc_env; rec M ''; rec N 'Name With Space : v'; rec N 'Bad:Name: v'; rec N "8bit\\351: v"; rec N 'body'; pc_tail
} >"$PC_HAND/oddheaders"
# Pointer records, padding, the heap after the end record: T S p(heap)
# M N N N X w E, then the heap: R p(back to M).
pc_ptr_file() {
    local out=$1 l1 backoff heapoff
    { rec T '1700000000 0'; rec S 'a@example.com'; } >"$out.1"
    { rec M ''; rec N 'Subject: ptr'; rec N ''; rec N 'body'; rec X ''; rec w '            0'; rec E ''; } >"$out.3"
    l1=$(stat -c %s "$out.1")
    backoff=$((l1 + 17))
    heapoff=$((backoff + $(stat -c %s "$out.3")))
    {
        cat "$out.1"
        rec p "$(printf '%15d' "$heapoff")"
        cat "$out.3"
        rec R 'heap@example.com'
        rec p "$(printf '%15d' "$backoff")"
    } >"$out"
    rm -f "$out.1" "$out.3"
}
pc_ptr_file "$PC_HAND/ptr"
# Dummy pointers, a pointer with junk, a pointer past the end.
{ pc_env; rec p "$(printf '%15d' 0)"; rec p ''; pc_mesg; rec p '   '; pc_tail; } >"$PC_HAND/ptrdummy"
{ pc_env; rec p '12x'; pc_mesg; pc_tail; } >"$PC_HAND/ptrjunk"
{ pc_env; rec p '999999'; pc_mesg; pc_tail; } >"$PC_HAND/ptrpast"
{ pc_env; rec p '1'; pc_mesg; pc_tail; } >"$PC_HAND/ptrloop"
# Size records: valid, invalid, twice.
pc_size_file() {
    local out=$1 size_text=$2 env body
    { rec T '1700000000 0'; rec S 'a@example.com'; rec R 'b@example.com'; } >"$out.env"
    { rec N 'Subject: sized'; rec N ''; rec N 'the body'; rec L 'cont'; rec N ''; } >"$out.body"
    local soff=97 mo
    mo=$((soff + $(stat -c %s "$out.env")))
    local csize=$(( $(stat -c %s "$out.body") + 2 ))
    local text
    if [ -n "$size_text" ]; then text=$size_text; else text=$(printf '%15d %15d %15d %15d %15d %15d' "$csize" $((mo + 2)) 1 0 "$csize" 0); fi
    { rec C "$text"; cat "$out.env"; rec M ''; cat "$out.body"; rec X ''; rec R 'x@example.com'; rec E ''; } >"$out"
    rm -f "$out.env" "$out.body"
}
pc_size_file "$PC_HAND/sized" ""
pc_size_file "$PC_HAND/sizebad" "$(printf '%95s' 'junk')"
pc_size_file "$PC_HAND/sizezero" "$(printf '%15d %15d %15d %15d %15d %15d' 0 0 0 0 0 0)"
pc_size_file "$PC_HAND/sizeone" "$(printf '%95s' '12')"
{ rec C "$(printf '%15d %15d' 5 90)"; rec C "$(printf '%15d %15d' 5 90)"; pc_env; pc_mesg; pc_tail; } >"$PC_HAND/sizetwice"
# Damaged files.
{ pc_env; pc_mesg; } >"$PC_HAND/noend"
{ pc_env; printf 'N\205'; } >"$PC_HAND/eoflen"
{ pc_env; printf 'N\012short'; } >"$PC_HAND/eofdata"
{ pc_env; printf 'N\377\377\377\377\377'; } >"$PC_HAND/toomanybits"
{ pc_env; printf 'N\377\377\377\377\017'; } >"$PC_HAND/signbits"
{ pc_env; printf 'N\200\200\200\200\010xx'; } >"$PC_HAND/hugelen"
{ rec M ''; pc_env; pc_tail; rec N 'after end'; } >"$PC_HAND/order"
{ pc_env; rec X ''; rec M ''; rec N 'h: v'; rec E ''; } >"$PC_HAND/order2"
{ pc_env; pc_mesg; rec E ''; } >"$PC_HAND/endinbody"
printf 'From: someone\nnot a queue file\n' >"$PC_HAND/text"
printf '\000\000\000' >"$PC_HAND/nul"
: >"$PC_HAND/empty"
head -c 300 "$PC_HAND/alltypes" >"$PC_HAND/truncated"
# Long records (two and three length bytes).
{ pc_env; rec M ''; rec N "Subject: $(head -c 200 /dev/zero | tr '\0' 's')"; rec N ''; rec N "$(head -c 20000 /dev/zero | tr '\0' 'q')"; pc_tail; } >"$PC_HAND/bigrec"

# ---- cases -------------------------------------------------------------
# Option sets: every option and the combinations whose code paths differ
# (-v cases use the flat configuration, whose verbose lines we reproduce).
PC_OPTS=("" "-e" "-h" "-b" "-eh" "-hb" "-od" "-r" "-ho" "-v" "-orv")
PC_OPTS_FEW=("" "-od" "-h" "-b" "-v")

pc_case() {
    local name=$1; shift
    CASE_CWD=$PC_T compare "postcat $name" postcat -c "$PC_FLAT" "$@"
}

# Damaged files end in a fatal error (one second each side): fewer options.
PC_OPTS_SHORT=("" "-e" "-h" "-v")
for pc_f in $(cd "$PC_HAND" && ls); do
    pc_opts=("${PC_OPTS[@]}")
    case "$pc_f" in
        eof*|toomanybits|signbits|hugelen|truncated|ptrjunk|ptrpast|ptrloop|noend) pc_opts=("${PC_OPTS_SHORT[@]}");;
        # A size record with offset 0 sends -e and -eh back to the start: forever.
        sizezero) pc_opts=("" "-h" "-b" "-od");;
    esac
    for pc_o in "${pc_opts[@]}"; do
        pc_case "hand $pc_f ${pc_o:-(none)}" $pc_o "hand/$pc_f"
    done
done
for pc_f in ptr sized; do
    pc_case "hand $pc_f -s 19" -s 19 "hand/$pc_f"
    pc_case "hand $pc_f -o -s 20" -o -s 20 "hand/$pc_f"
    pc_case "hand $pc_f -s past end" -s 99999 "hand/$pc_f"
    pc_case "hand $pc_f -s 0" -s 0 "hand/$pc_f"
done

if [ -n "$PC_ROOT" ]; then
    for pc_n in $PC_NAMES; do
        for pc_o in "${PC_OPTS_FEW[@]}"; do
            pc_case "maildrop $pc_n ${pc_o:-(none)}" $pc_o "keep/md-$pc_n"
        done
    done
fi

if [ -n "$PC_CLEANUP" ]; then
    for pc_f in $(cd "$PC_Q" && find incoming hold -type f | sort); do
        for pc_o in "${PC_OPTS_FEW[@]}"; do
            pc_case "queued $(echo "$pc_f" | cut -d/ -f1) ${pc_o:-(none)} $(basename "$pc_f")" $pc_o "q/$pc_f"
        done
    done
    # -q across the queues, with hashed directories (depth 2).
    for pc_f in $(cd "$PC_Q" && find incoming hold deferred -type f | sort); do
        pc_id=$(basename "$pc_f")
        CASE_CWD=$PC_T compare "postcat -q $pc_f" postcat -c "$PC_CONF" -q "$pc_id"
    done
    pc_ids=$(cd "$PC_Q" && find incoming hold -type f | head -3 | xargs -n1 basename | tr '\n' ' ')
    CASE_CWD=$PC_T compare "postcat -q several" postcat -c "$PC_CONF" -q $pc_ids
    # Search order: maildrop first, then incoming, active, ...; saved last.
    pc_f=$(cd "$PC_Q" && find incoming -type f | sort | head -1)
    if [ -n "$pc_f" ]; then
        pc_id=$(basename "$pc_f")
        cp "$PC_KEEP/md-plain" "$PC_Q/maildrop/$pc_id"
        CASE_CWD=$PC_T compare "postcat -q maildrop before incoming" postcat -c "$PC_CONF" -q "$pc_id"
        rm -f "$PC_Q/maildrop/$pc_id"
        cp "$PC_Q/$pc_f" "$PC_Q/saved/SAVED1" && CASE_CWD=$PC_T compare "postcat -q saved" postcat -c "$PC_CONF" -q SAVED1
        cp "$PC_Q/$pc_f" "$PC_Q/active/ACTIVE1" && CASE_CWD=$PC_T compare "postcat -q active" postcat -c "$PC_CONF" -q -e ACTIVE1
        mkdir -p "$PC_Q/corrupt" && cp "$PC_Q/$pc_f" "$PC_Q/corrupt/CORRUPT1" && CASE_CWD=$PC_T compare "postcat -q not in corrupt" postcat -c "$PC_CONF" -q CORRUPT1
    fi
    # The flat configuration does not find hashed files.
    [ -n "${PC_DEFERRED_ID:-}" ] && rm -f "$PC_Q/incoming/$PC_DEFERRED_ID" && \
        CASE_CWD=$PC_T compare "postcat -q hashed, flat config" postcat -c "$PC_FLAT" -q "$PC_DEFERRED_ID"
    # Other time zones.
    pc_f=$(cd "$PC_Q" && find hold -type f | head -1)
    [ -n "$pc_f" ] && TZ=Asia/Kolkata CASE_CWD=$PC_T compare "postcat TZ=Asia/Kolkata" postcat -c "$PC_FLAT" "q/$pc_f"
    [ -n "$pc_f" ] && TZ=America/New_York CASE_CWD=$PC_T compare "postcat TZ=America/New_York" postcat -c "$PC_FLAT" -o "q/$pc_f"
fi

# -q errors.
CASE_CWD=$PC_T compare "postcat -q missing" postcat -c "$PC_FLAT" -q ABCDEF12345
CASE_CWD=$PC_T compare "postcat -q bad id" postcat -c "$PC_FLAT" -q 'A.B'
CASE_CWD=$PC_T compare "postcat -q bad id slash" postcat -c "$PC_FLAT" -q '../x'
CASE_CWD=$PC_T compare "postcat -q empty id" postcat -c "$PC_FLAT" -q ''
CASE_CWD=$PC_T compare "postcat -q long id" postcat -c "$PC_FLAT" -q "$(head -c 256 /dev/zero | tr '\0' 'A')"
PC_NOQ=$PC_T/noq
pc_conf "$PC_NOQ" "queue_directory = $PC_T/does-not-exist"
CASE_CWD=$PC_T compare "postcat -q no queue dir" postcat -c "$PC_NOQ" -q ABC

# pc_pipe NAME FILE ARGS... - like compare, with FILE piped into postcat.
pc_pipe() {
    local name=$1 file=$2; shift 2
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local d="$COMPAT_TMP/cases/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')" side dir ok=1 f
    rm -rf "$d"
    for side in ref ours; do
        if [ "$side" = ref ]; then dir=$REF_SBIN; else dir=$OUR_SBIN; fi
        mkdir -p "$d/$side"
        ( cd "$PC_T" && cat "$file" | "$dir/postcat" "$@" ) >"$d/$side/stdout" 2>"$d/$side/stderr"
        echo $? >"$d/$side/status"
    done
    for f in stdout stderr status; do
        normalize "$d/ref/$f" >"$d/ref/$f.n"
        normalize "$d/ours/$f" >"$d/ours/$f.n"
        if ! cmp -s "$d/ref/$f.n" "$d/ours/$f.n"; then
            ok=0
            echo "FAIL $name ($f differs: $*)"
            diff -u "$d/ref/$f.n" "$d/ours/$f.n" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        fi
    done
    record "$name" $ok
}

# stdin: a regular file and a pipe (seeks fail on a pipe).
for pc_f in sized ptr; do
    for pc_o in "" "-o" "-e" "-h" "-s 19"; do
        CASE_STDIN=$PC_HAND/$pc_f CASE_CWD=$PC_T compare "postcat stdin file $pc_f ${pc_o:-(none)}" postcat -c "$PC_FLAT" $pc_o
        pc_pipe "postcat stdin pipe $pc_f ${pc_o:-(none)}" "hand/$pc_f" -c "$PC_FLAT" $pc_o
    done
done
CASE_STDIN=$PC_HAND/minimal CASE_CWD=$PC_T compare "postcat stdin skip past end" postcat -c "$PC_FLAT" -s 5000
CASE_CWD=$PC_T compare "postcat stdin empty" postcat -c "$PC_FLAT"

# Files and arguments.
CASE_CWD=$PC_T compare "postcat missing file" postcat -c "$PC_FLAT" hand/nonexistent
CASE_CWD=$PC_T compare "postcat missing after good" postcat -c "$PC_FLAT" hand/minimal hand/nonexistent
CASE_CWD=$PC_T compare "postcat directory" postcat -c "$PC_FLAT" hand
CASE_CWD=$PC_T compare "postcat directory then file" postcat -c "$PC_FLAT" hand hand/minimal
CASE_CWD=$PC_T compare "postcat several files" postcat -c "$PC_FLAT" hand/minimal hand/text hand/sized hand/empty hand/cont
CASE_CWD=$PC_T compare "postcat empty then file" postcat -c "$PC_FLAT" -o hand/empty hand/minimal
CASE_CWD=$PC_T compare "postcat -- file" postcat -c "$PC_FLAT" -- hand/minimal
CASE_CWD=$PC_T compare "postcat option after file" postcat -c "$PC_FLAT" hand/minimal -o
CASE_CWD=$PC_T compare "postcat bad option" postcat -Z
CASE_CWD=$PC_T compare "postcat -n (not in 3.7)" postcat -n hand/minimal
CASE_CWD=$PC_T compare "postcat -c missing arg" postcat -c
CASE_CWD=$PC_T compare "postcat -s missing arg" postcat -c "$PC_FLAT" -s
CASE_CWD=$PC_T compare "postcat -s bad" postcat -c "$PC_FLAT" -s 12x hand/minimal
CASE_CWD=$PC_T compare "postcat -s negative" postcat -c "$PC_FLAT" -s -5 hand/minimal
CASE_CWD=$PC_T compare "postcat -s empty" postcat -c "$PC_FLAT" -s '' hand/minimal
CASE_CWD=$PC_T compare "postcat -s huge" postcat -c "$PC_FLAT" -s 99999999999999999999999 hand/minimal
CASE_CWD=$PC_T compare "postcat -c missing dir" postcat -c "$PC_T/nonexistent" hand/minimal
PC_BADCF=$PC_T/badcf
mkdir -p "$PC_BADCF"; printf 'this is not a parameter\n' >"$PC_BADCF/main.cf"; touch -d '1 minute ago' "$PC_BADCF/main.cf"
CASE_CWD=$PC_T compare "postcat bad main.cf" postcat -c "$PC_BADCF" hand/minimal
PC_TZCF=$PC_T/tzcf
pc_conf "$PC_TZCF" "import_environment = MAIL_CONFIG TZ=Asia/Tokyo"
CASE_CWD=$PC_T compare "postcat import_environment TZ" postcat -c "$PC_TZCF" hand/minimal hand/alltypes
unset COMPARE_PARALLEL
