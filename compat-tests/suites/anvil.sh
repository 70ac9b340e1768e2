# anvil.sh - anvil(8), ours against the reference's, behind the reference's
# smtpd (and, once it answers SMTP, behind ours): instances with low
# smtpd_client_connection_count_limit, _connection_rate_limit,
# _message_rate_limit and _recipient_rate_limit (no exceptions for
# loopback clients) get the same sequence of SMTP sessions: two held
# connections and a third (count limit), a session that sends recipients
# past the recipient rate, one that sends MAIL past the message rate, and
# connections past the rate limit. Compared: every dialogue transcript
# (the 421/450 replies), smtpd's warnings, and anvil's "statistics:" lines
# (times, pids and ports normalised), which anvil logs when it exits. To
# have it exit while the master and postlogd still run (postfix stop
# would SIGTERM it), every daemon gets max_idle = 1s: the smtpd processes
# go away a second after the last session, and anvil, with no client
# left, after its idle limit, which it raises to anvil_rate_time_unit
# (10 s here: the whole sequence fits in one rate window). The instances
# run side by side.
#
# A protocol probe then talks to private/anvil directly (plain attribute
# encoding) over three streams: every request kind, a second connect on
# one stream, a disconnect from a stream that did not connect, a stream
# that goes away without disconnecting, an unknown request and a request
# without an ident; the replies are compared (and the peaks it causes
# appear in the statistics: newtls, auth, cache size).
# Then the periodic report: with anvil_status_update_time = 1s, one
# session, and a wait of 3 s, both anvils log the peaks once, a second
# after they started, and nothing more.
#
# Instances: aref (every daemon the reference's), aanv (the reference's
# smtpd with our anvil), aall (our smtpd and our anvil; only when our
# smtpd answers SMTP). Needs root and the postfix user.

SD_PROBE_PORT=42996
. "$(dirname "${BASH_SOURCE[0]}")/../smtpd-lib.sh"

AN_LIMITS=(
    "smtpd_client_event_limit_exceptions ="
    "smtpd_client_connection_count_limit = 2"
    "smtpd_client_connection_rate_limit = 6"
    "smtpd_client_message_rate_limit = 2"
    "smtpd_client_recipient_rate_limit = 3"
    "anvil_rate_time_unit = 10s"
    "max_idle = 1s"
    "anvil_status_update_time = 1h"
)

# an_instance NAME KIND PORT [DAEMON...] - an smtpd instance whose
# daemon_directory also has our DAEMONs.
an_instance() {
    local name=$1 kind=$2 port=$3 d
    shift 3
    sd_instance "$name" "$kind" "$port" "${AN_LIMITS[@]}"
    d=$(sd_dir "$name")
    if [ $# -gt 0 ]; then
        [ -d "$d/libexec" ] || mixed_daemon_dir "$d/libexec"
        for n in "$@"; do ln -sf "$OUR_LIBEXEC/$n" "$d/libexec/$n"; done
        "$REF_SBIN/postconf" -c "$d/conf" -e "daemon_directory = $d/libexec"
        find "$d/conf" -type f -exec touch -d '1 minute ago' {} +
    fi
}

# an_anvil_exe NAME - the program the instance's running anvil executes.
an_anvil_exe() {
    local d p
    d=$(sd_dir "$1")
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/cwd" 2>/dev/null)" = "$d/q" ] || continue
        case "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" in
            anvil\ *) readlink "$p/exe"; return 0 ;;
        esac
    done
    echo none
}

# an_script FILE LINES... - a dialogue script.
an_script() {
    local f=$1; shift
    printf '%s\n' "$@" >"$f"
}

# an_run NAME - the session sequence; transcripts on stdout.
an_run() {
    local name=$1 d s
    d=$(sd_dir "$name")
    s=$d/scripts
    mkdir -p "$s"
    an_script "$s/hold" "@sleep 2" "QUIT"
    an_script "$s/quit" "QUIT"
    an_script "$s/rcpt" "EHLO client.example" "MAIL FROM:<a@example.com>" "RCPT TO:<r1@example.net>" \
        "RCPT TO:<r2@example.net>" "RCPT TO:<r3@example.net>" "RCPT TO:<r4@example.net>" "QUIT"
    an_script "$s/mail" "EHLO client.example" "MAIL FROM:<b@example.com>" "RSET" "MAIL FROM:<c@example.com>" \
        "RSET" "MAIL FROM:<d@example.com>" "QUIT"
    # Two connections held open, the third one over the count limit.
    sd_dialog "$name" "$s/hold" >"$d/hold1.out" &
    local h1=$!
    sd_dialog "$name" "$s/hold" >"$d/hold2.out" &
    local h2=$!
    sleep 0.7
    echo "## third concurrent connection"
    sd_dialog "$name" "$s/quit"
    wait "$h1" "$h2"
    echo "## held connections"
    cat "$d/hold1.out" "$d/hold2.out"
    echo "## recipient rate"
    sd_dialog "$name" "$s/rcpt"
    echo "## message rate"
    sd_dialog "$name" "$s/mail"
    echo "## connection rate"
    sd_dialog "$name" "$s/quit"
    sd_dialog "$name" "$s/quit"
}

# an_probe NAME - the protocol probe; replies on stdout.
an_probe() {
    python3 - "$(sd_dir "$1")/q/private/anvil" <<'EOP'
import socket, sys
path = sys.argv[1]
def conn(tag):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    f = s.makefile("rb")
    return {"tag": tag, "s": s, "f": f, "hello": read(f)}
def read(f):
    lines = []
    while True:
        l = f.readline()
        if not l:
            return lines + ["<closed>"]
        l = l.decode().rstrip("\n")
        if l == "":
            return lines
        lines.append(l)
def req(c, request, ident=None):
    msg = "request=%s\n" % request + ("ident=%s\n" % ident if ident is not None else "") + "\n"
    c["s"].sendall(msg.encode())
    print("%s %s %s -> %s" % (c["tag"], request, ident, " ".join(read(c["f"]))))
a = conn("A"); b = conn("B")
print("hello", " ".join(a["hello"]))
req(a, "connect", "probe:1"); req(a, "connect", "probe:1"); req(a, "lookup", "probe:1")
req(a, "message", "probe:1"); req(a, "recipient", "probe:1"); req(a, "recipient", "probe:1")
req(a, "newtls", "probe:1"); req(a, "newtls_status", "probe:1"); req(a, "newtls_status", "probe:none")
req(a, "auth", "probe:1"); req(a, "auth", "probe:1"); req(a, "bogus", "probe:1")
req(b, "connect", "probe:1"); req(b, "disconnect", "probe:2"); req(b, "lookup", "probe:1")
req(a, "disconnect", "probe:1"); req(a, "disconnect", "probe:1"); req(b, "lookup", "probe:1")
req(b, "recipient", "probe:3"); req(b, "lookup", "probe:3"); req(b, "lookup", "probe:1")
b["s"].close()
import time; time.sleep(0.3)
c = conn("C")
req(c, "lookup", "probe:1"); req(c, "lookup", "probe:3"); req(c, "lookup", "probe:unknown")
req(c, "connect")
EOP
}

# an_stats NAME - anvil's log lines, normalised (the port in the service name).
an_stats() {
    sd_log "$1" anvil | sed -E -e 's/127\.0\.0\.1:[0-9]+:/127.0.0.1:PORT:/' -e 's/ at [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}$/ at TIME/'
}

# an_case NAME KIND PORT [DAEMON...] - run the sequence, stop, collect.
an_case() {
    local name=$1 d pid i
    an_instance "$@"
    d=$(sd_dir "$name")
    if ! sd_start "$name"; then
        echo "anvil: $name did not start"
        return 1
    fi
    an_run "$name" >"$SD_T/$name.dialog" 2>&1
    an_probe "$name" >"$SD_T/$name.probe" 2>&1
    an_anvil_exe "$name" >"$SD_T/$name.exe"
    # anvil's exit: about 12 s after the last session; wait 25 s at most.
    for i in $(seq 1 250); do
        grep -q "postfix/anvil\[.*statistics: max cache size" "$d/maillog" 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.3
    an_stats "$name" >"$SD_T/$name.stats"
    # Concurrent sessions log in either order: compared as a sorted list.
    sd_log "$name" smtpd | grep -E 'warning: |: (connect|disconnect) from' \
        | sed -E 's/127\.0\.0\.1:[0-9]+$/127.0.0.1:PORT/' | LC_ALL=C sort >"$SD_T/$name.smtpd"
    sd_stop "$name"
}

# an_timer_case NAME KIND PORT [DAEMON...] - the periodic report.
an_timer_case() {
    local name=$1 d
    local keep=() l
    for l in "${AN_LIMITS[@]}"; do
        case $l in anvil_status_update_time*|max_idle*) ;; *) keep+=("$l") ;; esac
    done
    AN_LIMITS=("${keep[@]}" "anvil_status_update_time = 1s")
    an_instance "$@"
    d=$(sd_dir "$name")
    sd_start "$name" || { echo "anvil: $name did not start"; return 1; }
    an_script "$d/quit" "QUIT"
    sd_dialog "$name" "$d/quit" >/dev/null
    sleep 3
    an_stats "$name" >"$SD_T/$name.stats"
    sd_stop "$name"
}

if [ "$(id -u)" != 0 ] || ! getent passwd postfix >/dev/null; then
    echo "anvil: needs root and the postfix user; skipped"
else
    an_case aref ref 42610 &
    an_pid1=$!
    an_case aanv ref 42611 anvil &
    wait "$an_pid1" $!
    case "$(cat "$SD_T/aanv.exe")" in
        */postfix-daemons|"$OUR_LIBEXEC"/*) record anvil-mixed-runs-ours 1 ;;
        *) echo "FAIL anvil-mixed-runs-ours: $(cat "$SD_T/aanv.exe")"; record anvil-mixed-runs-ours 0 ;;
    esac
    # The reference really limited something (the suite can fail).
    if grep -q '421 4.7.0 .* too many connections' "$SD_T/aref.dialog" && grep -q 'statistics: max connection count 3 ' "$SD_T/aref.stats"; then
        record anvil-reference-limits 1
    else
        echo "FAIL anvil-reference-limits"; sed 's/^/    /' "$SD_T/aref.dialog" "$SD_T/aref.stats"; record anvil-reference-limits 0
    fi
    compare_files anvil-dialogues "$SD_T/aref.dialog" "$SD_T/aanv.dialog"
    compare_files anvil-smtpd-log "$SD_T/aref.smtpd" "$SD_T/aanv.smtpd"
    compare_files anvil-statistics "$SD_T/aref.stats" "$SD_T/aanv.stats"
    compare_files anvil-protocol "$SD_T/aref.probe" "$SD_T/aanv.probe"
    an_timer_case atref ref 42613 &
    an_pid1=$!
    an_timer_case atanv ref 42614 anvil &
    wait "$an_pid1" $!
    if grep -q 'statistics: max connection count 1 ' "$SD_T/atref.stats"; then
        compare_files anvil-status-timer "$SD_T/atref.stats" "$SD_T/atanv.stats"
    else
        echo "FAIL anvil-status-timer (the reference logged no report)"; record anvil-status-timer 0
    fi
    if sd_ours_ready; then
        an_case aall ours 42612 anvil
        compare_files anvil-our-smtpd-dialogues "$SD_T/aref.dialog" "$SD_T/aall.dialog"
        compare_files anvil-our-smtpd-log "$SD_T/aref.smtpd" "$SD_T/aall.smtpd"
        compare_files anvil-our-smtpd-statistics "$SD_T/aref.stats" "$SD_T/aall.stats"
        compare_files anvil-our-smtpd-protocol "$SD_T/aref.probe" "$SD_T/aall.probe"
    else
        echo "anvil: our smtpd does not answer SMTP yet; its cases skipped"
    fi
fi
