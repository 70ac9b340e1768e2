# pipe.sh - our pipe(8) and spawn(8) inside a reference installation. Two
# private reference instances differ only in their daemon_directory: "ref"
# links every daemon to the reference, "mix" links pipe and spawn to ours.
# master.cf has pipe services with different flags= (B D F O R X h q u .
# >), eol=, null_sender=, size=, directory= and argv macros, all running
# one recording script (argv, ids, cwd, environment and standard input
# into a file of the instance), plus commands that exit 75, 67 and 1,
# print a "D.S.N text" reply, sleep past the service's time limit, do not
# exist, or use an unknown macro; transport_maps routes the reference
# sendmail's mail there. Two spawn services (one that answers and exits
# 3, one that sleeps past its time limit) are called over their UNIX
# sockets. Compared: what every command received (dates and queue ids
# masked), the maillog (times, pids, queue ids, delays normalized), and
# the queue left behind.
#
# Needs root, the postfix and nobody users and our daemons; skipped
# otherwise.

PP_T=$COMPAT_TMP/pipe
mkdir -p "$PP_T/bin"
chmod 711 "$COMPAT_TMP"
chmod 755 "$PP_T" "$PP_T/bin"

cat >"$PP_T/bin/rec.sh" <<'EOF'
#!/bin/sh
# rec.sh CASE ARGS... - record what the command got.
out=$(dirname "$MAIL_CONFIG")/out/$1
{
    echo "=== call"
    for a in "$@"; do echo "arg [$a]"; done
    echo "ids $(id -u) $(id -g) $(id -G)"
    echo "cwd $(pwd)"
    echo "umask $(umask)"
    env | grep -v -e '^_=' -e '^PWD=' -e '^SHLVL=' -e '^OLDPWD=' | LC_ALL=C sort | sed 's/^/env /'
    echo "--- stdin"
    sed 's/\r/<CR>/g'
    echo "--- end"
} >>"$out"
case "$1" in
talk) echo "hello from the command";;
esac
exit 0
EOF
cat >"$PP_T/bin/fail.sh" <<'EOF'
#!/bin/sh
# fail.sh STATUS TEXT... - read the message, print TEXT, exit with STATUS.
st=$1; shift
cat >/dev/null
[ $# -gt 0 ] && printf '%s\n' "$*"
exit "$st"
EOF
cat >"$PP_T/bin/slow.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "going to sleep"
sleep 30
EOF
cat >"$PP_T/bin/die.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "about to die"
kill -9 $$
EOF
cat >"$PP_T/bin/talk.sh" <<'EOF'
#!/bin/sh
echo "hello $(id -u) $(umask) $1"
read line
echo "got [$line]"
exit 3
EOF
chmod 755 "$PP_T"/bin/*.sh

pp_instance() {
    local s=$1 d=$PP_T/$1
    inst_dirs "$d"; mkdir -p "$d/out"; chmod 777 "$d/out"
    if [ "$s" = mix ]; then mixed_daemon_dir "$d/libexec" pipe spawn; else mixed_daemon_dir "$d/libexec"; fi
    inst_main_cf "$d" "$d/libexec"
    cat >>"$d/conf/main.cf" <<EOF
myhostname = pipe.example.com
mydomain = example.com
myorigin = example.com
mydestination =
recipient_delimiter = +
transport_maps = hash:$d/conf/transport
virtual_alias_maps = hash:$d/conf/virtual
default_transport = error:no default route in this test
notify_classes =
full_destination_recipient_limit = 1
loop_destination_recipient_limit = 1
slow_time_limit = 2s
slowspawn_time_limit = 2s
EOF
    cat >"$d/conf/transport" <<'EOF'
bounces.example discard:bounce received
plain.example plain:
Full.Example full:Next.Hop.Example
multi.example multi:
dflag.example dflag:
okout.example okout:
nullsnd.example nullsnd:
big.example big:
ex75.example ex75:
ex67.example ex67:
ex1.example ex1:
dsn.example dsnout:
dsn4.example dsn4:
slow.example slow:
missing.example missing:
badmacro.example badmacro:
loop.example loop:
dir.example dir:
oflag.example oflag:
die.example die:
early.example early:
badflag.example badflag:
EOF
    cat >"$d/conf/virtual" <<'EOF'
alias@alias.example Joe.User+Ext@Full.Example
EOF
    local b=$PP_T/bin
    cat >"$d/conf/master.cf" <<EOF
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
postlog   unix-dgram n  -       n       -       1       postlogd
plain     unix  -       n       n       -       1       pipe
  flags=R user=nobody argv=$b/rec.sh plain -f \${sender} -n \${nexthop} -s \${size} -- \${recipient}
full      unix  -       n       n       -       1       pipe
  flags=DRFOXhqu.>B user=nobody eol=\r\n argv=$b/rec.sh full \${client_address} \${client_helo} \${client_hostname}
  \${client_port} \${client_protocol} d=\${domain} e=\${extension} m=\${mailbox} n=\${nexthop}
  o=\${original_recipient} q=\${queue_id} r=\${recipient} \${sasl_method} \${sasl_sender} \${sasl_username}
  s=\${sender} z=\${size} u=\${user}
multi     unix  -       n       n       -       1       pipe
  flags=.> user=nobody argv=$b/rec.sh multi {-r \${recipient}} x=\${user}+\${extension}@\${domain}
dflag     unix  -       n       n       -       1       pipe
  flags=D user=nobody argv=$b/rec.sh dflag \${recipient}
okout     unix  -       n       n       -       1       pipe
  user=nobody argv=$b/rec.sh talk
nullsnd   unix  -       n       n       -       1       pipe
  flags=FRq null_sender= user=nobody:nogroup argv=$b/rec.sh nullsnd <\${sender}>
big       unix  -       n       n       -       1       pipe
  size=10 user=nobody argv=$b/rec.sh big
ex75      unix  -       n       n       -       1       pipe
  user=nobody argv=$b/fail.sh 75
ex67      unix  -       n       n       -       1       pipe
  user=nobody argv=$b/fail.sh 67 no such user here
ex1       unix  -       n       n       -       1       pipe
  user=nobody argv=$b/fail.sh 1
dsnout    unix  -       n       n       -       1       pipe
  user=nobody argv=$b/fail.sh 1 5.7.1 rejected by the command
dsn4      unix  -       n       n       -       1       pipe
  user=nobody argv=$b/fail.sh 0 4.2.2 ignored on success
slow      unix  -       n       n       -       1       pipe
  user=nobody argv=$b/slow.sh
missing   unix  -       n       n       -       1       pipe
  user=nobody argv=/nonexistent/command \${recipient}
badmacro  unix  -       n       n       -       1       pipe
  user=nobody argv=$b/rec.sh badmacro \${bogus}
loop      unix  -       n       n       -       1       pipe
  flags=D user=nobody argv=$b/rec.sh loop
dir       unix  -       n       n       -       1       pipe
  directory=/tmp user=nobody argv=$b/rec.sh dir
oflag     unix  -       n       n       -       1       pipe
  flags=O user=nobody argv=$b/rec.sh oflag
die       unix  -       n       n       -       1       pipe
  user=nobody argv=$b/die.sh
early     unix  -       n       n       -       1       pipe
  user=nobody argv=/bin/true
badflag   unix  -       n       n       -       1       pipe
  flags=Z user=nobody argv=$b/rec.sh badflag
nospawn   unix  -       n       n       -       1       spawn
  user=nobody argv=/nonexistent/spawned
talkspawn unix  -       n       n       -       1       spawn
  user=nobody argv=$b/talk.sh arg1
slowspawn unix  -       n       n       -       1       spawn
  user=nobody argv=/bin/sleep 6
EOF
    "$REF_SBIN/postmap" -c "$d/conf" "$d/conf/transport" "$d/conf/virtual"
    find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
}

pp_norm() {
    sed -E -e 's/^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /TIME /' -e 's/\[[0-9]+\]/[PID]/g' \
        -e 's/\b[0-9A-F]{10,12}\b/QID/g' -e 's/delay=[0-9.]+, delays=[0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+/delay=D, delays=D/' \
        -e 's/<[0-9]{14}\.QID@/<STAMP.QID@/' -e "s#$PP_T/(ref|mix)#INST#g" \
        -e 's/^(arg \[)?From (.*)  [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}/\1From \2  DATE/' \
        -e 's/^(Date|Received): .*/\1: MASKED/' -e 's/^	(by|for|id) .*/	MASKED/' \
        -e 's/process id [0-9]+/process id PID/' -e 's/ pid [0-9]+ / pid PID /' "$@"
}

# pp_both NAME CMD - run CMD with $S = ref, then mix; compare the outputs.
pp_both() { local name=$1; shift; sides_case pipe "$name" "$PP_T" ref mix "$@"; }

# pp_settle SIDE - wait until only deferred mail is left in the queue.
pp_settle() { queue_settled "$PP_T/$1/q" 150; }

# pp_log_of SIDE - the maillog, normalized and sorted. The reference's
# spawn kills a command past its time limit with the privileges of the
# mail system owner, which fails (the command runs on); ours kills it, and
# logs its death by SIGKILL: that line is left out.
pp_log_of() {
    pp_norm "$PP_T/$1/maillog" \
        | grep -v -e 'symlink leaves directory' -e 'waiting for the Postfix mail system to terminate' \
            -e ': daemon started' -e 'connect from\|disconnect from' \
            -e 'stopping the Postfix mail system' -e 'terminating on signal' \
            -e 'spawn.*: warning: command /bin/sleep killed by signal 9' \
        | sed -E 's/^TIME [^ ]+ //' | LC_ALL=C sort
}

# pp_call SIDE SERVICE TEXT - talk to a spawn service over its socket.
pp_call() {
    python3 - "$PP_T/$1/q/private/$2" "$3" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(20)
if sys.argv[2]:
    s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    try:
        chunk = s.recv(4096)
    except (socket.timeout, ConnectionResetError):
        # a reset instead of an orderly close depends only on whether the
        # server closed before or after our line arrived: same outcome
        break
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode(errors="replace"))
EOF
}

if [ "$(id -u)" != 0 ] || ! id postfix >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 \
    || [ ! -x "$OUR_LIBEXEC/pipe" ] || [ ! -x "$OUR_LIBEXEC/spawn" ] || ! command -v python3 >/dev/null; then
    echo "pipe: skipped: needs root, the postfix and nobody users, python3, and our pipe and spawn daemons"
else
    pp_stop() { local s; for s in ref mix; do "$REF_SBIN/postfix" -c "$PP_T/$s/conf" stop >/dev/null 2>&1; done; return 0; }
    trap 'pp_stop; rm -rf "$COMPAT_TMP"' EXIT
    for pp_s in ref mix; do pp_instance $pp_s; done
    pp_both start '$REF_SBIN/postfix -c $PP_T/$S/conf start'
    pp_both daemons 'pp_n=$(ls -l $PP_T/$S/libexec/pipe $PP_T/$S/libexec/spawn | grep -c -- "-> $OUR_LIBEXEC/"); case $S:$pp_n in ref:0|mix:2) echo ok;; *) echo "$pp_n of ours";; esac'
    # One message at a time, both instances, then wait for the queues.
    pp_send() {
        local s
        for s in ref mix; do printf "$PP_MSG" | "$REF_SBIN/sendmail" -C "$PP_T/$s/conf" "$@" >"$PP_T/$s.send" 2>&1; done
        for s in ref mix; do pp_settle $s; done
    }
    PP_MSG='Subject: plain\n\nbody\n'; pp_send -f sender@bounces.example a@plain.example
    PP_MSG='Subject: full\nFrom: x@y\n\nFrom the start\n.dot line\n..two dots\nlast'
    pp_send -f 'Odd Sender@Bounces.Example' Joe.User+Ext@Full.Example
    PP_MSG='Subject: alias\n\nbody\n'; pp_send -f sender@bounces.example alias@alias.example
    PP_MSG='Subject: multi\n\nFrom me\n.\n.x\n'
    pp_send -f sender@bounces.example u1+e1@multi.example u2@multi.example +u3@multi.example
    PP_MSG='Subject: dflag\n\nbody\n'; pp_send -f sender@bounces.example d1@dflag.example d2@dflag.example
    PP_MSG='Subject: okout\n\nbody\n'; pp_send -f sender@bounces.example o@okout.example
    PP_MSG='Subject: nullsnd\n\nbody\n'; pp_send -f '' n@nullsnd.example
    PP_MSG='Subject: big\n\nbody\n'; pp_send -f sender@bounces.example b@big.example
    PP_MSG='Subject: ex75\n\nbody\n'; pp_send -f sender@bounces.example t@ex75.example
    PP_MSG='Subject: ex67\n\nbody\n'; pp_send -f sender@bounces.example u@ex67.example
    PP_MSG='Subject: ex1\n\nbody\n'; pp_send -f sender@bounces.example v@ex1.example
    PP_MSG='Subject: dsn\n\nbody\n'; pp_send -f sender@bounces.example w@dsn.example
    PP_MSG='Subject: dsn4\n\nbody\n'; pp_send -f sender@bounces.example w@dsn4.example
    PP_MSG='Subject: slow\n\nbody\n'; pp_send -f sender@bounces.example s@slow.example
    PP_MSG='Subject: missing\n\nbody\n'; pp_send -f sender@bounces.example m@missing.example
    PP_MSG='Subject: badmacro\n\nbody\n'; pp_send -f sender@bounces.example x@badmacro.example
    PP_MSG='Delivered-To: me@loop.example\nSubject: loop\n\nbody\n'; pp_send -f sender@bounces.example Me@Loop.Example
    PP_MSG='Subject: noloop\n\nbody\n'; pp_send -f sender@bounces.example me@loop.example
    PP_MSG='Subject: dir\n\nbody\n'; pp_send -f sender@bounces.example d@dir.example
    PP_MSG='Subject: oflag\n\nbody\n'; pp_send -f sender@bounces.example o1@oflag.example o2@oflag.example
    PP_MSG='Subject: die\n\nbody\n'; pp_send -f sender@bounces.example k@die.example
    PP_MSG="Subject: early\n\n$(head -c 300000 /dev/zero | tr '\0' 'x' | fold -w 70)\n"
    pp_send -f sender@bounces.example e@early.example
    PP_MSG='Subject: badflag\n\nbody\n'; pp_send -f sender@bounces.example z@badflag.example
    PP_MSG=''; pp_send -bv -f sender@bounces.example q@plain.example
    PP_MSG='Subject: verbose\n\nbody\n'; pp_send -v -f sender@bounces.example v@plain.example
    pp_both settled 'pp_settle $S && sleep 1 && pp_settle $S && echo ok'
    for pp_c in plain full multi dflag talk nullsnd big badmacro loop dir oflag badflag; do
        pp_both "received-$pp_c" '{ [ -f $PP_T/$S/out/$pp_c ] || echo "no call"; } && pp_norm $PP_T/$S/out/$pp_c 2>/dev/null | sed "s#$PP_T/bin#BIN#g"'
    done
    pp_both spawn-talk 'pp_call $S talkspawn "a line"'
    pp_both spawn-missing 'pp_call $S nospawn "x"'
    pp_both spawn-slow 'pp_call $S slowspawn ""'
    sleep 1
    pp_both queue '$REF_SBIN/postqueue -c $PP_T/$S/conf -p | pp_norm | sed -E "s/^QID\*? +[0-9]+ .*/QID SIZE DATE/" | LC_ALL=C sort'
    pp_both stop '$REF_SBIN/postfix -c $PP_T/$S/conf stop; sleep 1'
    pp_both maillog 'pp_log_of $S'
    trap 'rm -rf "$COMPAT_TMP"' EXIT
fi
