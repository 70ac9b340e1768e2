# local.sh - our local(8) inside a reference installation. Two private
# reference instances differ only in their daemon_directory: "ref" links
# every daemon to the reference, "mix" links local to ours. The reference's
# sendmail submits the same messages to both: mailbox delivery to test
# users (created here, removed at the end) in a private mail spool,
# recipient extensions, aliases to users, files, commands, :include: files
# and remote addresses (forwarded, then discarded), owner- aliases,
# .forward files (including a maildir), duplicate elimination, unknown
# users, postmaster without an alias, Delivered-To: loops, restricted
# files, failing commands, and a mailbox_command with its environment.
# (Aliases and commands are texthash: tables, which both implementations
# read.) Compared: the maillog (times, pids, queue ids, delays normalized), the
# mailboxes, files and maildirs (From_ dates and maildir names masked),
# and the queue left behind; and the biff (comsat) notice of a mailbox
# delivery, caught by a UDP listener on localhost's biff port.
#
# Needs root, the postfix user, useradd/userdel and our local daemon.

LT_T=$COMPAT_TMP/local
mkdir -p "$LT_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$LT_T"
LT_USERS="pflt1 pflt2 pflt3"

lt_instance() {
    local s=$1 d=$LT_T/$1
    inst_dirs "$d"; mkdir -p "$d/spool" "$d/files"
    chmod 1777 "$d/spool" "$d/files"
    if [ "$s" = mix ]; then mixed_daemon_dir "$d/libexec" local; else mixed_daemon_dir "$d/libexec"; fi
    inst_main_cf "$d" "$d/libexec"
    cat >>"$d/conf/main.cf" <<EOF
myhostname = host.local.example
mydomain = local.example
myorigin = local.example
mydestination = local.example
mail_spool_directory = $d/spool
alias_maps = texthash:$d/conf/aliases
alias_database = texthash:$d/conf/aliases
recipient_delimiter = +
forward_path = \$home/.forward-$s
transport_maps = hash:$d/conf/transport
default_transport = error:no default route in this test
allow_mail_to_files = alias, forward, include
mailbox_command_maps = texthash:$d/conf/commands
notify_classes =
EOF
    cat >"$d/conf/aliases" <<EOF
postmaster pflt1
list pflt1, pflt2, pflt1
owner-list pflt3
nested list, pflt3
tofile $d/files/tofile
tocmd "|cat > $d/files/tocmd.out"
failcmd "|echo 5.2.2 mailbox is full; exit 1"
tempcmd "|exit 75"
incl :include:$d/conf/include
remote someone@discard.example
mixed pflt2, far@discard.example, $d/files/mixed
loopy loopy2
loopy2 loopy
badfile /dev/null/nonexistent
EOF
    printf '# a comment\npflt2\n%s\n' "$d/files/included" >"$d/conf/include"
    cat >"$d/conf/transport" <<'EOF'
discard.example discard:gone
bounces.example discard:bounce received
EOF
    cat >"$d/conf/commands" <<EOF
pflt3 /bin/sh -c 'env | grep -E "^(HOME|USER|LOGNAME|SHELL|EXTENSION|DOMAIN|LOCAL|RECIPIENT|SENDER|ORIGINAL_RECIPIENT)=" | sort > $d/files/env.out; cat >> $d/files/env.out'
EOF
    inst_master_cf "$d" pickup cleanup qmgr rewrite bounce defer trace showq error discard local postlog
    "$REF_SBIN/postmap" -c "$d/conf" "$d/conf/transport"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

lt_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/delay=[0-9.]+, delays=[0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+/delay=D, delays=D/' \
        -e 's/^From (\S+)  [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$/From \1  DATE/' \
        -e 's/^(\s+id QID); .*/\1; DATE/' -e 's/^Date: .*/Date: DATE/' -e 's/^(\s+for <[^>]*>); .*/\1; DATE/' \
        -e 's/^(\s+by host.local.example \(Postfix[^)]*\) with [A-Z]+ id QID); .*/\1; DATE/' \
        -e 's/^Message-Id: <[0-9]+\.QID@/Message-Id: <STAMP.QID@/' -e 's/message-id=<[0-9]{14}\./message-id=<STAMP./' \
        -e "s#$LT_T/(ref|mix)#INST#g" "$@"
}

lt_both() { local name=$1; shift; sides_case local "$name" "$LT_T" ref mix "$@"; }

lt_settle() { queue_settled "$LT_T/$1/q" 150; }

# lt_dump DIR - every file under DIR with its mode and owner, normalized;
# maildir messages (whose names depend on time and inode) sorted by content.
lt_dump() {
    local f
    (cd "$1" 2>/dev/null && find . -type f ! -path '*/new/*' ! -path '*/cur/*' | LC_ALL=C sort) | while read -r f; do
        echo "== $f $(stat -c '%a %U' "$1/$f")"
        lt_norm "$1/$f"
    done
    (cd "$1" 2>/dev/null && find . -type f \( -path '*/new/*' -o -path '*/cur/*' \)) | while read -r f; do
        { echo "== $(dirname "$f")/MAILDIR-FILE $(stat -c '%a %U' "$1/$f")"; lt_norm "$1/$f"; } | tr '\n' '\001'
        echo
    done | LC_ALL=C sort | tr '\001' '\n'
}

lt_log_of() {
    lt_norm "$LT_T/$1/maillog" \
        | grep -v -e 'symlink leaves directory' -e 'waiting for the Postfix mail system to terminate' \
              -e 'daemon started' -e 'starting the Postfix' -e 'terminating on signal' -e 'reload' \
              -e 'stopping the Postfix mail system' \
        | sed -E 's/^TIME \S+ /TIME HOST /' | LC_ALL=C sort
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! command -v useradd >/dev/null || [ ! -x "$OUR_LIBEXEC/local" ]; then
    echo "local: skipped: needs root, the postfix user, useradd and our local daemon"
else
    # lt_biff_start - a UDP listener on 127.0.0.1, port biff/udp (512),
    # one line per datagram in $LT_T/biff.out (null bytes shown as \0).
    lt_biff_pid=
    lt_biff_start() {
        : >"$LT_T/biff.out"
        python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", socket.getservbyname("biff", "udp")))
open(sys.argv[1] + ".ready", "w").close()
while True:
    data = s.recv(1000)
    with open(sys.argv[1], "a") as f:
        f.write(data.decode("latin-1").replace("\0", "\\0") + "\n")
' "$LT_T/biff.out" 2>"$LT_T/biff.err" &
        lt_biff_pid=$!
        for lt_i in $(seq 1 100); do [ -f "$LT_T/biff.out.ready" ] && break; kill -0 "$lt_biff_pid" 2>/dev/null || break; sleep 0.1; done
        [ -f "$LT_T/biff.out.ready" ] && kill -0 "$lt_biff_pid" 2>/dev/null || { echo "local: no biff listener: $(cat "$LT_T/biff.err")"; lt_biff_pid=; return 1; }
    }
    lt_biff_stop() { [ -n "$lt_biff_pid" ] && kill "$lt_biff_pid" 2>/dev/null; lt_biff_pid=; return 0; }
    lt_stop() {
        lt_biff_stop
        local s u
        for s in ref mix; do "$REF_SBIN/postfix" -c "$LT_T/$s/conf" stop >/dev/null 2>&1; done
        for u in $LT_USERS; do userdel "$u" >/dev/null 2>&1; done
        return 0
    }
    trap 'lt_stop; rm -rf "$COMPAT_TMP"' EXIT
    mkdir -p "$LT_T/home"; chmod 755 "$LT_T/home"
    for u in $LT_USERS; do
        userdel "$u" >/dev/null 2>&1
        useradd -M -d "$LT_T/home/$u" -s /bin/sh "$u"
        mkdir -p "$LT_T/home/$u"; chown "$u:" "$LT_T/home/$u"; chmod 755 "$LT_T/home/$u"
    done
    for s in ref mix; do
        # pflt2 forwards to a maildir and keeps a copy; pflt1+fwd has none.
        printf '%s/home/pflt2/Maildir-%s/\n\\pflt2\n' "$LT_T" "$s" >"$LT_T/home/pflt2/.forward-$s"
        chown pflt2: "$LT_T/home/pflt2/.forward-$s"
    done
    for lt_s in ref mix; do lt_instance $lt_s; done
    lt_both start '$REF_SBIN/postfix -c $LT_T/$S/conf start'
    # The mixed instance really runs our local(8).
    if [ "$(readlink "$LT_T/mix/libexec/local")" = "$OUR_LIBEXEC/local" ]; then record local-daemon-is-ours 1; else record local-daemon-is-ours 0; fi
    lt_send() {
        local s
        for s in ref mix; do printf "$LT_MSG" | "$REF_SBIN/sendmail" -C "$LT_T/$s/conf" "$@" >"$LT_T/$s.send" 2>&1; done
        for s in ref mix; do lt_settle $s; done
    }
    LT_MSG='Subject: plain\n\nFrom the start\nbody\n'; lt_send -f sender@bounces.example pflt1@local.example
    LT_MSG='Subject: ext\n\nbody\n'; lt_send -f sender@bounces.example pflt1+tag@local.example
    LT_MSG='Subject: list\n\nbody\n'; lt_send -f sender@bounces.example list@local.example
    LT_MSG='Subject: nested\n\nbody\n'; lt_send -f sender@bounces.example nested@local.example
    LT_MSG='Subject: file\n\nbody\n'; lt_send -f sender@bounces.example tofile@local.example
    LT_MSG='Subject: cmd\n\nbody\n'; lt_send -f sender@bounces.example tocmd@local.example
    LT_MSG='Subject: failcmd\n\nbody\n'; lt_send -f sender@bounces.example failcmd@local.example
    LT_MSG='Subject: include\n\nbody\n'; lt_send -f sender@bounces.example incl@local.example
    LT_MSG='Subject: remote\n\nbody\n'; lt_send -f sender@bounces.example remote@local.example
    LT_MSG='Subject: mixed\n\nbody\n'; lt_send -f sender@bounces.example mixed@local.example
    LT_MSG='Subject: unknown\n\nbody\n'; lt_send -f sender@bounces.example nosuchuser@local.example
    LT_MSG='Subject: postmaster\n\nbody\n'; lt_send -f sender@bounces.example postmaster@local.example
    LT_MSG='Subject: mailer-daemon\n\nbody\n'; lt_send -f sender@bounces.example mailer-daemon@local.example
    LT_MSG='Delivered-To: pflt1@local.example\nSubject: loop\n\nbody\n'; lt_send -f sender@bounces.example pflt1@local.example
    LT_MSG='Subject: alias loop\n\nbody\n'; lt_send -f sender@bounces.example loopy@local.example
    LT_MSG='Subject: forward\n\nbody\n'; lt_send -f sender@bounces.example pflt2@local.example
    LT_MSG='Subject: command env\n\nbody\n'; lt_send -f sender@bounces.example pflt3+ext@local.example
    LT_MSG='Subject: bad file\n\nbody\n'; lt_send -f sender@bounces.example badfile@local.example
    LT_MSG='Subject: null sender\n\nbody\n'; lt_send -f '' pflt1@local.example
    LT_MSG='Subject: dsn\n\nbody\n'; lt_send -N success -f sender@bounces.example list@local.example
    LT_MSG=''; lt_send -bv -f sender@bounces.example list@local.example
    LT_MSG=''; lt_send -bv -f sender@bounces.example pflt1@local.example
    # biff = yes (the default): after a mailbox delivery a comsat notice,
    # "LOGNAME@OFFSET" and a null byte, goes to localhost's biff/udp port,
    # where a listener started here records it (one side at a time).
    if lt_biff_start; then
        for lt_s in ref mix; do
            printf 'Subject: biff\n\nbody\n' | "$REF_SBIN/sendmail" -C "$LT_T/$lt_s/conf" -f sender@bounces.example pflt1@local.example
            lt_settle $lt_s
            for lt_i in $(seq 1 20); do [ -s "$LT_T/biff.out" ] && break; sleep 0.1; done
            sleep 0.2
            mv "$LT_T/biff.out" "$LT_T/$lt_s.biff"; : >"$LT_T/biff.out"
        done
        lt_biff_stop
        lt_both biff 'cat $LT_T/$S.biff'
        # (and the notice was there at all: "pflt1@OFFSET\0")
        if grep -q '^pflt1@[0-9][0-9]*\\0$' "$LT_T/ref.biff"; then record local-biff-sent 1
        else echo "FAIL local-biff-sent (no biff notice from the reference)"; record local-biff-sent 0; fi
    fi
    lt_both settled 'lt_settle $S && sleep 1 && lt_settle $S && echo ok'
    lt_both spool 'lt_dump $LT_T/$S/spool'
    lt_both files 'lt_dump $LT_T/$S/files'
    lt_both maildir 'lt_dump $LT_T/home/pflt2/Maildir-$S'
    lt_both queue '$REF_SBIN/postqueue -c $LT_T/$S/conf -p | lt_norm | sed -E "s/^QID\*? +[0-9]+ .*/QID SIZE DATE/" | LC_ALL=C sort'
    lt_both stop '$REF_SBIN/postfix -c $LT_T/$S/conf stop; sleep 1'
    lt_both maillog 'lt_log_of $S'
    lt_stop
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
