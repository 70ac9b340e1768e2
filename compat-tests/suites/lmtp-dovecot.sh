# lmtp-dovecot.sh - lmtp(8) delivering into a real Dovecot LMTP server,
# ours against the reference's. One Dovecot (started here, on a UNIX-domain
# socket and on 127.0.0.1, users from a passwd-file, Maildir under a
# temporary directory) serves two Postfix instances in turn: one run by the
# reference's daemons, one with our lmtp swapped in. Each gets the same
# mail: two recipients over lmtp:unix:, one over lmtp:inet:, an unknown
# user (Dovecot's 550: bounced to the sender's alias file), and a body with
# a leading dot and 8-bit text. Compared: the lmtp log lines (status=,
# relay=, dsn= and Dovecot's replies, its session ids masked), the Maildir
# contents Dovecot wrote and the bounce. Dovecot is stopped by its PID.
#
# Needs root, the postfix and nobody users and Dovecot's lmtp
# (dovecot-lmtpd); skipped otherwise.

LD_T=$COMPAT_TMP/lmtp-dovecot
LD_PORT=42724
mkdir -p "$LD_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$LD_T"

. "$here/dovecot-auth.sh"

# ld_lmtp_ready DIR - Dovecot's LMTP answers on its UNIX socket and port.
ld_lmtp_ready() {
    [ -S "$1/lmtp" ] && python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.recv(100)' "$LD_PORT"
}

# ld_dovecot_start DIR - Dovecot with only the lmtp protocol; pid in DIR/dovecot.pid.
ld_dovecot_start() {
    local dir=$1 uid gid
    uid=$(id -u nobody); gid=$(id -g nobody)
    rm -rf "$dir"; mkdir -p "$dir/run" "$dir/mail"
    chmod 755 "$dir" "$dir/run"; chown nobody "$dir/mail"
    printf '%s\n' "bob::$uid:$gid::$dir/mail/bob::" "carol::$uid:$gid::$dir/mail/carol::" >"$dir/users"
    chmod 644 "$dir/users"
    {
        echo "protocols = lmtp"
        dovecot_conf_common "$dir" dovecot-lmtp
        cat <<EOC
mail_location = maildir:~/Maildir
first_valid_uid = 1
hostname = lmtp.example
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = passwd-file
  args = username_format=%n $dir/users
}
service lmtp {
  unix_listener $dir/lmtp {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LD_PORT
  }
}
EOC
    } >"$dir/dovecot.conf"
    dovecot_run "$dir" ld_lmtp_ready "$dir"
}

ld_instance() {
    local s=$1 d=$LD_T/$1
    inst_dirs "$d"
    mkdir -p "$d/files"; chown nobody "$d/files"
    if [ "$s" = ref ]; then ln -s "$REF_LIBEXEC" "$d/libexec"; else mixed_daemon_dir "$d/libexec" lmtp; fi
    inst_main_cf "$d" "$d/libexec"
    cat >>"$d/conf/main.cf" <<EOF
myhostname = mx.example.com
mydomain = example.com
myorigin = example.com
mydestination = localhost, example.com
alias_maps = hash:$d/conf/aliases
alias_database = hash:$d/conf/aliases
local_recipient_maps =
default_privs = nobody
transport_maps = hash:$d/conf/transport
default_transport = error:no default route in this test
delay_logging_resolution_limit = 0
notify_classes =
EOF
    echo "sender: $d/files/sender" >"$d/conf/aliases"
    cat >"$d/conf/transport" <<EOF
unix.example lmtp:unix:$LD_T/dovecot/lmtp
inet.example lmtp:inet:127.0.0.1:$LD_PORT
EOF
    inst_master_cf "$d" pickup cleanup qmgr rewrite bounce defer trace lmtp error local postlog
    "$REF_SBIN/postmap" -c "$d/conf" "$d/conf/transport"
    "$REF_SBIN/postalias" -c "$d/conf" "$d/conf/aliases"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

ld_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/delay=[0-9.]+, delays=[0-9.\/]+/delay=D, delays=D/' \
        -e 's/ [A-Za-z0-9+\/]{22}(:R[0-9]+)? Saved/ SESSION Saved/' -e "s#$LD_T/dovecot/#DOVECOT/#g" -e 's/^(\tid )[A-Za-z0-9+\/]{22}(:R[0-9]+)?$/\1SESSION/' \
        -e 's/^(From [^ ]+ +)[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$/\1DATE/' \
        -e 's/(; |^\t|Date: |Arrival-Date: )[A-Z][a-z]{2}, [ 0-9]?[0-9] [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}( \([A-Z]+\))?/\1DATE/' \
        -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' -e 's/QID\.[0-9]+\/mx\.example\.com/BOUNDARY/g' \
        -e "s#$LD_T/(ref|ours)#INST#g" -e "s#$REF_LIBEXEC/#DAEMONS/#g; s#$OUR_LIBEXEC/#DAEMONS/#g" "$@"
}

# ld_settle SIDE - wait until the queue is empty (or only deferred mail is left).
ld_settle() {
    local i
    for i in $(seq 1 100); do
        [ -z "$(find "$LD_T/$1/q/maildrop" "$LD_T/$1/q/incoming" "$LD_T/$1/q/active" -type f 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# ld_mailboxes - every message Dovecot stored (by user, in content order), then emptied.
ld_mailboxes() {
    local u f dir=$LD_T/dovecot/mail
    for u in $(ls "$dir" | LC_ALL=C sort); do
        for f in "$dir/$u"/Maildir/new/* "$dir/$u"/Maildir/cur/*; do
            [ -f "$f" ] || continue
            { echo "== $u"; ld_norm "$f"; } | tr '\n' '\001'; echo
        done | LC_ALL=C sort | tr '\001' '\n'
    done
    rm -rf "${dir:?}"/*
}

# ld_side SIDE - send the test mail through one instance, print what came out.
ld_side() {
    local s=$1 d=$LD_T/$1
    inst_start "$d/conf" >/dev/null 2>&1 || { echo "cannot start the $s instance"; return 1; }
    printf 'Subject: two over unix\n\nbody\n' | "$REF_SBIN/sendmail" -C "$d/conf" -f sender@example.com bob@unix.example carol@unix.example
    ld_settle "$s"
    printf 'Subject: over inet\n\n.leading dot\n..two dots\ncaf\303\251\n' | "$REF_SBIN/sendmail" -C "$d/conf" -f sender@example.com bob@inet.example
    ld_settle "$s"
    printf 'Subject: unknown user\n\nbody\n' | "$REF_SBIN/sendmail" -C "$d/conf" -f sender@example.com nosuch@unix.example carol@inet.example
    ld_settle "$s"; sleep 0.5; ld_settle "$s"
    inst_stop "$d/conf"
    echo "--- log"
    grep -a -e " postfix/lmtp\[" -e " postfix/bounce\[" -e " postfix/qmgr\[.*removed" "$d/maillog" | ld_norm | LC_ALL=C sort
    echo "--- mailboxes"
    ld_mailboxes
    echo "--- bounce"
    [ -f "$d/files/sender" ] && ld_norm "$d/files/sender"
    echo "--- queue"
    find "$d/q/deferred" "$d/q/active" "$d/q/incoming" -type f | wc -l
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 || [ ! -x /usr/sbin/dovecot ] \
    || [ ! -x /usr/lib/dovecot/lmtp ] || [ ! -x "$OUR_LIBEXEC/lmtp" ] || ! command -v python3 >/dev/null 2>&1; then
    echo "lmtp-dovecot: skipped: needs root, the postfix and nobody users, Dovecot's lmtp and our lmtp"
else
    trap 'dovecot_stop "$LD_T/dovecot"; for s in ref ours; do inst_stop "$LD_T/$s/conf"; done; rm -rf "$COMPAT_TMP"' EXIT
    if ld_dovecot_start "$LD_T/dovecot"; then
        for ld_s in ref ours; do
            ld_instance $ld_s
            ld_side $ld_s >"$LD_T/$ld_s.out" 2>&1
        done
        case "lmtp-dovecot" in *"${CASE_FILTER:-}"*)
            # The reference must have delivered into Dovecot at all.
            if grep -q "status=sent (250 2.0.0 <bob@unix.example> SESSION Saved)" "$LD_T/ref.out"; then record lmtp-dovecot-ref 1
            else echo "FAIL lmtp-dovecot-ref"; sed 's/^/    /' "$LD_T/ref.out" | head -20; record lmtp-dovecot-ref 0; fi
            compare_files lmtp-dovecot "$LD_T/ref.out" "$LD_T/ours.out"
            [ -n "${LD_SAVE:-}" ] && cp "$LD_T/ref.out" "$LD_T/ours.out" "$LD_SAVE/" ;;
        esac
    else
        record lmtp-dovecot-start 0
    fi
    dovecot_stop "$LD_T/dovecot"
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
