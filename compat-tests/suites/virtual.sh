# virtual.sh - our virtual(8) inside a reference installation: "ref" runs
# every daemon from the reference, "mix" runs our virtual. The reference's
# sendmail submits the same messages to both for a hosted domain: mbox and
# maildir mailboxes (owned by nobody), a catch-all, a recipient
# extension, an unknown user, a mailbox in a missing directory (deferred),
# a user ID below virtual_minimum_uid (deferred), and a null sender.
# The mailbox and uid tables are texthash: (both implementations read
# them). Compared: the maillog (normalized), the mailboxes and maildirs (From_
# dates and maildir names masked), and the queue left behind.
#
# Needs root, the postfix and nobody users and our virtual daemon.

VT_T=$COMPAT_TMP/virtual
mkdir -p "$VT_T"
chmod 711 "$COMPAT_TMP"
chmod 755 "$VT_T"

vt_instance() {
    local s=$1 d=$VT_T/$1
    inst_dirs "$d"; mkdir -p "$d/vmail/a" "$d/vmail/c"
    chown -R nobody: "$d/vmail"
    if [ "$s" = mix ]; then mixed_daemon_dir "$d/libexec" virtual; else mixed_daemon_dir "$d/libexec"; fi
    inst_main_cf "$d" "$d/libexec"
    cat >>"$d/conf/main.cf" <<EOF
myhostname = host.virt.example
mydomain = virt.example
myorigin = virt.example
mydestination =
recipient_delimiter = +
virtual_mailbox_domains = virt.example, other.example
virtual_mailbox_base = $d/vmail
virtual_mailbox_maps = texthash:$d/conf/vmailbox
virtual_uid_maps = texthash:$d/conf/vuid, static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
transport_maps = hash:$d/conf/transport
default_transport = error:no default route in this test
notify_classes =
EOF
    cat >"$d/conf/vmailbox" <<'EOF'
a@virt.example a/mbox
b@virt.example b/Maildir/
missing@virt.example nodir/sub/mbox
lowuid@virt.example c/lowuid
@other.example c/catchall
EOF
    cat >"$d/conf/vuid" <<'EOF'
lowuid@virt.example 5
EOF
    cat >"$d/conf/transport" <<'EOF'
bounces.example discard:bounce received
EOF
    inst_master_cf "$d" pickup cleanup qmgr rewrite bounce defer trace showq error discard virtual postlog
    "$REF_SBIN/postmap" -c "$d/conf" "$d/conf/transport"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

vt_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/delay=[0-9.]+, delays=[0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+/delay=D, delays=D/' \
        -e 's/^From (\S+)  [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$/From \1  DATE/' \
        -e 's/^(\s+id QID); .*/\1; DATE/' -e 's/^Date: .*/Date: DATE/' -e 's/^(\s+for <[^>]*>); .*/\1; DATE/' \
        -e 's/^Message-Id: <[0-9]+\.QID@/Message-Id: <STAMP.QID@/' -e 's/message-id=<[0-9]{14}\./message-id=<STAMP./' \
        -e "s#$VT_T/(ref|mix)#INST#g" "$@"
}

vt_both() { local name=$1; shift; sides_case virtual "$name" "$VT_T" ref mix "$@"; }

vt_settle() { queue_settled "$VT_T/$1/q" 150; }

# vt_dump DIR - files (mode, owner, normalized content), maildir messages
# sorted by content (their names depend on time and inode), directories.
vt_dump() {
    local f
    (cd "$1" && find . -type f ! -path '*/new/*' ! -path '*/cur/*' | LC_ALL=C sort) | while read -r f; do
        echo "== $f $(stat -c '%a %U' "$1/$f")"
        vt_norm "$1/$f"
    done
    (cd "$1" && find . -type f \( -path '*/new/*' -o -path '*/cur/*' \)) | while read -r f; do
        { echo "== $(dirname "$f")/MAILDIR-FILE $(stat -c '%a %U' "$1/$f")"; vt_norm "$1/$f"; } | tr '\n' '\001'
        echo
    done | LC_ALL=C sort | tr '\001' '\n'
    (cd "$1" && find . -type d | LC_ALL=C sort)
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 || [ ! -x "$OUR_LIBEXEC/virtual" ]; then
    echo "virtual: skipped: needs root, the postfix and nobody users, and our virtual daemon"
else
    vt_stop() { local s; for s in ref mix; do "$REF_SBIN/postfix" -c "$VT_T/$s/conf" stop >/dev/null 2>&1; done; return 0; }
    trap 'vt_stop; rm -rf "$COMPAT_TMP"' EXIT
    for vt_s in ref mix; do vt_instance $vt_s; done
    vt_both start '$REF_SBIN/postfix -c $VT_T/$S/conf start'
    if [ "$(readlink "$VT_T/mix/libexec/virtual")" = "$OUR_LIBEXEC/virtual" ]; then record virtual-daemon-is-ours 1; else record virtual-daemon-is-ours 0; fi
    vt_send() {
        local s
        for s in ref mix; do printf "$VT_MSG" | "$REF_SBIN/sendmail" -C "$VT_T/$s/conf" "$@" >"$VT_T/$s.send" 2>&1; done
        for s in ref mix; do vt_settle $s; done
    }
    VT_MSG='Subject: mbox\n\nFrom here\nbody\n'; vt_send -f sender@bounces.example a@virt.example
    VT_MSG='Subject: mbox ext\n\nbody\n'; vt_send -f sender@bounces.example a+x@virt.example
    VT_MSG='Subject: maildir\n\nbody\n'; vt_send -f sender@bounces.example b@virt.example
    VT_MSG='Subject: catchall\n\nbody\n'; vt_send -f sender@bounces.example anyone@other.example
    VT_MSG='Subject: unknown\n\nbody\n'; vt_send -f sender@bounces.example nobody@virt.example
    VT_MSG='Subject: missing\n\nbody\n'; vt_send -f sender@bounces.example missing@virt.example
    VT_MSG='Subject: lowuid\n\nbody\n'; vt_send -f sender@bounces.example lowuid@virt.example
    VT_MSG='Subject: two\n\nbody\n'; vt_send -f sender@bounces.example a@virt.example b@virt.example
    VT_MSG='Subject: null sender\n\nbody\n'; vt_send -f '' a@virt.example
    VT_MSG=''; vt_send -bv -f sender@bounces.example b@virt.example
    vt_both settled 'vt_settle $S && sleep 1 && vt_settle $S && echo ok'
    vt_both mailboxes 'vt_dump $VT_T/$S/vmail'
    vt_both queue '$REF_SBIN/postqueue -c $VT_T/$S/conf -p | vt_norm | sed -E "s/^QID\*? +[0-9]+ .*/QID SIZE DATE/" | LC_ALL=C sort'
    vt_both stop '$REF_SBIN/postfix -c $VT_T/$S/conf stop; sleep 1'
    vt_both maillog 'vt_norm $VT_T/$S/maillog | grep -v -e "symlink leaves directory" -e "waiting for the Postfix" | LC_ALL=C sort'
    vt_stop
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
