#!/usr/bin/env python3
# NAME
#   tls-resume.py - STARTTLS sessions that offer to resume a TLS session
# SYNOPSIS
#   tls-resume.py PORT PLAN
# DESCRIPTION
#   Test tool of the smtpd compat suites. PLAN is a string of letters,
#   one SMTP session each, to 127.0.0.1:PORT: "n" a new TLS session, "r"
#   one that offers the session (ticket) of the previous successful
#   handshake. Each session: greeting, EHLO, STARTTLS, handshake, EHLO,
#   QUIT. One line per session: the protocol, whether the server resumed
#   the session, and the last reply (or where it stopped).
import socket
import ssl
import sys


def reply(f):
    last = b''
    while True:
        line = f.readline()
        if not line:
            return last.strip().decode('latin-1') if last else '<closed>'
        last = line
        if line[3:4] != b'-':
            return line.strip().decode('latin-1')


def session(ctx, port, offer):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    f = s.makefile('rb')
    reply(f)
    s.sendall(b'EHLO client.example\r\n')
    reply(f)
    s.sendall(b'STARTTLS\r\n')
    r = reply(f)
    if not r.startswith('220'):
        s.close()
        return None, 'STARTTLS: ' + r
    try:
        t = ctx.wrap_socket(s, session=offer)
    except (ssl.SSLError, OSError) as e:
        return None, 'handshake failed'
    tf = t.makefile('rb')
    try:
        t.sendall(b'EHLO client.example\r\n')
        r = reply(tf)
        if r.startswith('250'):
            t.sendall(b'QUIT\r\n')
            r = reply(tf)
    except (ssl.SSLError, OSError):
        r = '<closed>'
    out = '%s resumed=%s %s' % (t.version(), t.session_reused, r)
    sess = t.session
    if r.startswith('221'):
        wait_for_close(t)
    t.close()
    return sess, out


def wait_for_close(t):
    """Wait until the server has closed the TCP connection, not only the
    TLS layer: both smtpds log 'disconnect from' after their TLS shutdown
    and before the close, so the next session's 'connect from' comes after
    it in the log."""
    try:
        t.settimeout(5)
        while t.recv(4096):
            pass
        raw = t.unwrap()
        while raw.recv(4096):
            pass
    except (ssl.SSLError, OSError, ValueError):
        pass


def main(argv):
    if len(argv) != 2:
        print('usage: tls-resume.py PORT PLAN', file=sys.stderr)
        return 2
    port, plan = int(argv[0]), argv[1]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    last = None
    for i, kind in enumerate(plan):
        sess, out = session(ctx, port, last if kind == 'r' else None)
        if sess is not None:
            last = sess
        print('session %d (%s): %s' % (i + 1, 'resume' if kind == 'r' else 'new', out), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
