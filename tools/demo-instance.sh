#!/bin/sh
# demo-instance.sh - a whole mail system of our programs in demo-instance/
# of the repository: its own config and queue directories, loopback only,
# nothing outside the folder touched. Starts it with our postfix(1),
# submits two messages with our sendmail: our qmgr and virtual(8)
# deliver one into a Maildir, which is shown; the other bounces. Lists
# the queue with our postqueue (-p and -j), and stops it again. Needs root (master(8) does)
# and the postfix and postdrop accounts (tools/install-deps.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sbin=$top/out/sbin
libexec=$top/out/libexec/postfix
inst=$top/demo-instance
for p in postfix sendmail postqueue postdrop postmap; do
    [ -x "$sbin/$p" ] || { echo "demo: $sbin/$p is missing: run make" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1; then
    echo "demo: skipped the running instance: needs root and the postfix user"
    exit 0
fi

[ -f "$inst/q/pid/master.pid" ] && "$sbin/postfix" -c "$inst/conf" stop >/dev/null 2>&1 || :
rm -rf "$inst"
mkdir -p "$inst/conf" "$inst/q" "$inst/data"
chmod 755 "$inst"
chown postfix "$inst/data"
cat >"$inst/conf/main.cf" <<EOF
# A demo instance: every program is ours (out/sbin, out/libexec/postfix).
queue_directory = $inst/q
data_directory = $inst/data
daemon_directory = $libexec
command_directory = $sbin
maillog_file = $inst/maillog
maillog_file_prefixes = $inst
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = demo.example.com
mydomain = example.com
mydestination =
# Mail for example.net goes to Maildirs under $inst/vmail (virtual(8)).
virtual_mailbox_domains = example.net
virtual_mailbox_base = $inst/vmail
virtual_mailbox_maps = lmdb:$inst/conf/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 1
default_transport = error:this demo delivers to example.net only
EOF
printf 'bob@example.net bob/\n' >"$inst/conf/vmailbox"
"$sbin/postmap" -c "$inst/conf" "lmdb:$inst/conf/vmailbox"
mkdir -p "$inst/vmail"
chown nobody "$inst/vmail"
cat >"$inst/conf/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
virtual   unix  -       n       n       -       -       virtual
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
stop() { "$sbin/postfix" -c "$inst/conf" stop 2>&1 || :; }
trap stop EXIT

echo "== postfix start (our postfix, master and daemons; config $inst/conf)"
"$sbin/postfix" -c "$inst/conf" start
"$sbin/postfix" -c "$inst/conf" status && echo "running: master pid $(tr -d ' ' <"$inst/q/pid/master.pid")"

echo
echo "== sendmail -f alice@example.com bob@example.net (our sendmail and postdrop)"
printf 'From: Alice <alice@example.com>\nTo: Bob <bob@example.net>\nSubject: hello from the demo\n\nIt works.\n' \
    | MAIL_CONFIG=$inst/conf "$sbin/sendmail" -f alice@example.com bob@example.net
printf 'Subject: not for here\n\nThis one bounces back to alice.\n' \
    | MAIL_CONFIG=$inst/conf "$sbin/sendmail" -f alice@example.com carol@example.org
echo
echo "== postqueue -p (while mail is on its way)"
MAIL_CONFIG=$inst/conf "$sbin/postqueue" -p
i=0
until [ -n "$(find "$inst/vmail/bob/new" -type f 2>/dev/null)" ] || [ $i -ge 50 ]; do sleep 0.2; i=$((i + 1)); done
sleep 1
echo
echo "== the message in bob's Maildir ($inst/vmail/bob/new)"
for f in "$inst"/vmail/bob/new/*; do echo "-- $(basename "$f")"; cat "$f"; done
echo
echo "== postqueue -j (after delivery)"
MAIL_CONFIG=$inst/conf "$sbin/postqueue" -j
echo
echo "== the log ($inst/maillog)"
cat "$inst/maillog"
echo
echo "== postfix stop"
trap - EXIT
stop
sleep 1
"$sbin/postfix" -c "$inst/conf" status || echo "stopped"
