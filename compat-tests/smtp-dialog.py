#!/usr/bin/env python3
# NAME
#   smtp-dialog.py - replay a scripted SMTP client dialogue, print a transcript
# SYNOPSIS
#   smtp-dialog.py [options] HOST PORT SCRIPT
#   smtp-dialog.py [options] --exec 'COMMAND ARGS' SCRIPT   (e.g. sendmail -bs)
# DESCRIPTION
#   Test tool of the smtpd(8) compat suites. Connects to HOST:PORT (or runs
#   COMMAND and talks to its stdin/stdout), plays SCRIPT, and prints one line
#   per client line ("C: ...") and per server reply line ("S: ..."), with
#   what differs from run to run masked, so that the transcripts of two
#   servers can be compared with diff. Non-printable bytes are shown as
#   \r, \n, \t, \xNN. Every wait is bounded (--timeout); it never hangs.
#
# SCRIPT FORMAT
#   The greeting is read first (unless the script says @no-greeting).
#   Then, in command mode, one line is one SMTP command: it is sent with
#   CRLF and one reply (all its continuation lines) is read. Blank lines
#   and lines starting with "#" are ignored in command mode.
#   After a DATA command answered with 354, the following script lines up
#   to a line "." are message text, sent as written (no dot-stuffing is
#   added: write ".." yourself), each with CRLF; the "." line is sent and
#   the reply to it is read. In message text, "@@x" sends "@x", and the
#   directives @raw, @gen, @sleep, @close are honoured; any other line is text.
#   When DATA is answered otherwise, that text is not sent ("C: <message
#   text not sent>").
#   Directives:
#     @no-greeting        (first line only) do not read the greeting
#     @pipeline ... @end  send the lines in between in one write, then read
#                         one reply per command; inside, a DATA line is
#                         followed by message text up to "." as above and
#                         only the DATA and "." lines count as commands;
#                         a DATA right before @end is sent alone, and the
#                         text after @end goes after its 354 as usual
#     @raw BYTES          send BYTES exactly (escapes \r \n \t \\ \xNN),
#                         do not wait for a reply
#     @gen COUNT LEN [C]  send COUNT lines of LEN times the character C
#                         (default x), each ending in CRLF; no reply wait
#                         (LEN 0 COUNT 1 with "@raw" for bare endings)
#     @bdat [LAST] BYTES  send "BDAT <size>[ LAST]" CRLF and BYTES (escapes
#                         as @raw) in one write, then read one reply
#     @read [SECONDS]     read one reply
#     @drain [SECONDS]    read reply lines until none came for SECONDS
#                         (default 0.5); for servers that send more or fewer
#                         replies than were asked for (smuggling, abuse)
#     @sleep SECONDS      pause
#     @timeout SECONDS    reply timeout from here on
#     @starttls           after the last reply was 220 (to STARTTLS): do the
#                         TLS handshake (no certificate verification)
#     @close              close the connection, end the dialogue
#     @expect-close [S]   wait up to S seconds (default 2): print
#                         "S: <closed>" if the server closed the connection,
#                         else the reply lines it sent, or "S: <open>"
#   In command lines, message text and @raw, "{{N*TEXT}}" stands for N
#   times TEXT (long lines without long scripts).
#   When the server closes the connection, "S: <closed>" is printed and the
#   rest of the script is skipped (sending into a closed connection would
#   make the transcript depend on timing). A read that times out prints
#   "S: <timeout>"; no greeting, or a third timeout, ends the dialogue.
#
# OPTIONS
#   --timeout SECONDS   reply timeout (default 5)
#   --mask TEXT=REPL    replace TEXT in server lines (repeatable; host
#                       names, addresses, paths)
#   --raw               no normalisation (--mask still applies)
#   --connect-timeout S connect timeout (default 5)
#   --tls-cert/--tls-key client certificate for @starttls (optional)
#   --tls-on-connect    TLS handshake right after connecting, before the
#                       greeting (wrapper mode, the port 465 style);
#                       prints "C: <TLS on connect>" and the outcome
#   --fastopen TEXT     send TEXT (escapes as @raw) with the connection
#                       request (TCP Fast Open): the server has it before
#                       it accepts, so it has always "talked first"
# NORMALISATION
#   "queued as ID" -> "queued as QUEUEID"; RFC 5322 dates -> DATE;
#   --exec: "Postfix (n.n.n)"-style nothing else. Client lines are never
#   changed.
# EXIT STATUS
#   0 the script ran (whatever the server said), 1 connect failure, 2 usage.

import os
import re
import select
import socket
import ssl
import subprocess
import sys
import time

MAX_LINE_SHOW = 200


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == '\\' and i + 1 < len(text):
            n = text[i + 1]
            if n == 'r':
                out += b'\r'; i += 2; continue
            if n == 'n':
                out += b'\n'; i += 2; continue
            if n == 't':
                out += b'\t'; i += 2; continue
            if n == '\\':
                out += b'\\'; i += 2; continue
            if n == 'x' and i + 3 < len(text) + 0 and re.match(r'[0-9a-fA-F]{2}', text[i + 2:i + 4]):
                out.append(int(text[i + 2:i + 4], 16)); i += 4; continue
        out += c.encode('utf-8')
        i += 1
    return bytes(out)


def expand(text):
    return re.sub(r'\{\{(\d+)\*([^}]*)\}\}', lambda m: m.group(2) * int(m.group(1)), text)


def show(data):
    """Printable form of bytes: escapes for control and non-ASCII bytes."""
    if len(data) > MAX_LINE_SHOW and len(set(data)) == 1:
        return '<%d times %s>' % (len(data), show(data[:1]))
    if len(data) > MAX_LINE_SHOW:
        return show(data[:MAX_LINE_SHOW]) + '...<%d bytes>' % len(data)
    s = []
    for b in data:
        if b == 13:
            s.append('\\r')
        elif b == 10:
            s.append('\\n')
        elif b == 9:
            s.append('\\t')
        elif b == 92:
            s.append('\\\\')
        elif 32 <= b < 127:
            s.append(chr(b))
        else:
            s.append('\\x%02x' % b)
    return ''.join(s)


class Closed(Exception):
    pass


class SocketPeer:
    def __init__(self, host, port, ctimeout, fastopen=None):
        if fastopen is None:
            self.sock = socket.create_connection((host, int(port)), timeout=ctimeout)
        else:
            # TCP Fast Open: the data travels with the SYN, so the server
            # has it before accept() returns (needs net.ipv4.tcp_fastopen
            # with the client, server and no-cookie bits).
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.settimeout(ctimeout)
            self.sock.sendto(fastopen, 0x20000000, (host, int(port)))
        self.sock.setblocking(False)

    def send(self, data):
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def recv(self, timeout):
        """Bytes, b'' at EOF, None on timeout. Non-blocking: after a TLS 1.3
        handshake the server sends session tickets, which make the socket
        readable without giving application data."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if not (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
                r, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
                if not r:
                    return None
            try:
                return self.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                if time.monotonic() >= deadline:
                    return None
            except (ConnectionResetError, ssl.SSLError, OSError):
                return b''

    def starttls(self, cert, key, timeout):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(cert, key or None)
        self.sock.settimeout(timeout)
        self.sock = ctx.wrap_socket(self.sock)
        self.sock.setblocking(False)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class ExecPeer:
    def __init__(self, command):
        self.proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.fd = self.proc.stdout.fileno()

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def recv(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return None
        return os.read(self.fd, 65536)

    def starttls(self, cert, key, timeout):
        raise OSError('STARTTLS is not supported with --exec')

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Dialogue:
    def __init__(self, peer, opts):
        self.peer = peer
        self.opts = opts
        self.timeout = opts['timeout']
        self.buf = b''
        self.eof = False
        self.last_code = None
        self.timeouts = 0

    # -- output --
    def client(self, text):
        print('C: ' + text, flush=True)

    def server(self, line):
        text = show(line)
        for old, new in self.opts['masks']:
            text = text.replace(old, new)
        if not self.opts['raw']:
            text = re.sub(r'(queued as )\S+', r'\1QUEUEID', text)
            text = re.sub(r'\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), +\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}( \([A-Z]+\))?',
                          'DATE', text)
        print('S: ' + text, flush=True)

    # -- I/O --
    def send(self, data):
        try:
            self.peer.send(data)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.closed()

    def closed(self):
        self.server_note('<closed>')
        raise Closed()

    def server_note(self, note):
        print('S: ' + note, flush=True)

    def read_line(self, deadline):
        """One line without its ending; None on timeout; raises Closed at EOF."""
        while True:
            i = self.buf.find(b'\n')
            if i >= 0:
                line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                if line.endswith(b'\r\n'):
                    return line[:-2]
                return line[:-1]
            if self.eof:
                if self.buf:
                    line, self.buf = self.buf, b''
                    return line
                self.closed()
            data = self.peer.recv(deadline - time.monotonic())
            if data is None:
                return None
            if data == b'':
                self.eof = True
            else:
                self.buf += data

    def read_reply(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self.last_code = None
        while True:
            line = self.read_line(deadline)
            if line is None:
                self.server_note('<timeout>')
                self.timeouts += 1
                if self.timeouts >= 3:
                    self.server_note('<giving up after 3 timeouts>')
                    raise Closed()
                return
            self.server(line)
            m = re.match(rb'^(\d{3})([- ]?)', line)
            if m:
                self.last_code = m.group(1).decode()
            if not m or m.group(2) != b'-':
                return

    # -- script --
    def run(self, lines):
        i = 0
        if lines and lines[0].strip() == '@no-greeting':
            i = 1
        else:
            self.read_reply()
            if self.last_code is None:
                # No greeting: talking on would only add timeouts.
                raise Closed()
        while i < len(lines):
            line = lines[i]
            i += 1
            if line.strip() == '' or line.startswith('#'):
                continue
            if line.startswith('@') and not line.startswith('@@'):
                i = self.directive(line, lines, i)
                continue
            if line.startswith('@@'):
                line = line[1:]
            self.client(show(line.encode('utf-8', 'surrogateescape')))
            self.send(line.encode('utf-8', 'surrogateescape') + b'\r\n')
            self.read_reply()
            if re.match(r'(?i)^data\s*$', line):
                if self.last_code == '354':
                    i, ended = self.message_text(lines, i, send_now=True)
                    if ended:
                        self.read_reply()
                else:
                    i = self.skip_text(lines, i)

    def message_text(self, lines, i, send_now, acc=None):
        """Message text up to '.', sent (send_now) or appended to acc."""
        while i < len(lines):
            line = lines[i]
            i += 1
            data = False
            if line.startswith('@') and not line.startswith('@@'):
                data = self.text_directive(line)
            if data is not False:
                pass
            elif line.startswith('@@'):
                data = line[1:].encode('utf-8', 'surrogateescape') + b'\r\n'
                self.client(show(data[:-2]))
            else:
                data = line.encode('utf-8', 'surrogateescape') + b'\r\n'
                self.client(show(data[:-2]))
            if data:
                if send_now:
                    self.send(data)
                else:
                    acc.append(data)
            if line == '.':
                return i, True
        return i, False

    def skip_text(self, lines, i):
        """DATA was refused: the message text up to '.' is not sent."""
        j = i
        while j < len(lines) and lines[j] != '.':
            j += 1
        if j < len(lines):
            self.client('<message text not sent>')
            return j + 1
        return i

    def text_directive(self, line):
        """@raw/@gen/@sleep inside text: the bytes to send, b'' if none; False if not one."""
        word, _, arg = line.partition(' ')
        if word == '@raw':
            data = unescape(arg)
            self.client('@raw ' + show(data))
            return data
        if word == '@gen':
            return self.gen(arg)
        if word == '@sleep':
            time.sleep(float(arg))
            return b''
        if word == '@close':
            self.client('<close>')
            raise Closed()
        return False

    def gen(self, arg):
        parts = arg.split()
        count, length = int(parts[0]), int(parts[1])
        ch = parts[2].encode() if len(parts) > 2 else b'x'
        self.client('<%d lines of %d times %s>' % (count, length, show(ch)))
        return (ch * length + b'\r\n') * count

    def directive(self, line, lines, i):
        word, _, arg = line.strip().partition(' ')
        arg = line.split(' ', 1)[1] if ' ' in line else ''
        if word == '@pipeline':
            return self.pipeline(lines, i)
        if word in ('@raw', '@gen'):
            self.send(self.text_directive(line))
        elif word == '@bdat':
            last = False
            if arg.startswith('LAST ') or arg == 'LAST':
                last, arg = True, arg[5:]
            data = unescape(arg)
            cmd = 'BDAT %d%s' % (len(data), ' LAST' if last else '')
            self.client(cmd)
            self.client('<%d bytes> %s' % (len(data), show(data)))
            self.send(cmd.encode() + b'\r\n' + data)
            self.read_reply()
        elif word == '@read':
            self.read_reply(float(arg) if arg.strip() else None)
        elif word == '@sleep':
            time.sleep(float(arg))
        elif word == '@drain':
            quiet = float(arg) if arg.strip() else 0.5
            while True:
                line = self.read_line(time.monotonic() + quiet)
                if line is None:
                    break
                self.server(line)
        elif word == '@timeout':
            self.timeout = float(arg)
        elif word == '@starttls':
            if self.last_code != '220':
                self.server_note('<no TLS: last reply was %s>' % self.last_code)
            else:
                self.client('<TLS handshake>')
                try:
                    self.peer.starttls(self.opts['cert'], self.opts['key'], self.timeout)
                    self.buf = b''
                    self.server_note('<TLS established>')
                except (ssl.SSLError, OSError) as e:
                    self.server_note('<TLS handshake failed>')
                    print('# ' + str(e), file=sys.stderr)
                    raise Closed()
        elif word == '@close':
            self.client('<close>')
            raise Closed()
        elif word == '@expect-close':
            wait = float(arg) if arg.strip() else 2.0
            deadline = time.monotonic() + wait
            got = False
            while True:
                line = self.read_line(deadline)  # raises Closed at EOF
                if line is None:
                    break
                got = True
                self.server(line)
            if not got:
                self.server_note('<open>')
        elif word == '@no-greeting':
            pass
        else:
            print('smtp-dialog: unknown directive: ' + line, file=sys.stderr)
            sys.exit(2)
        return i

    def pipeline(self, lines, i):
        chunks = []
        replies = 0
        data_last = False
        while i < len(lines):
            line = lines[i]
            i += 1
            if line.strip() == '@end':
                break
            if line.strip() == '' or line.startswith('#'):
                continue
            td = self.text_directive(line) if line.startswith('@') and not line.startswith('@@') else False
            if td is not False:
                chunks.append(td)
                continue
            if line.startswith('@@'):
                line = line[1:]
            self.client(show(line.encode('utf-8', 'surrogateescape')))
            chunks.append(line.encode('utf-8', 'surrogateescape') + b'\r\n')
            replies += 1
            if re.match(r'(?i)^data\s*$', line):
                if i < len(lines) and lines[i].strip() == '@end':
                    data_last = True
                    continue
                i, ended = self.message_text(lines, i, send_now=False, acc=chunks)
                replies += 1 if ended else 0
        self.send(b''.join(chunks))
        for _ in range(replies):
            self.read_reply()
        if data_last:
            if self.last_code == '354':
                i, ended = self.message_text(lines, i, send_now=True)
                if ended:
                    self.read_reply()
            else:
                i = self.skip_text(lines, i)
        return i


def main(argv):
    opts = {'timeout': 5.0, 'masks': [], 'raw': False, 'ctimeout': 5.0, 'cert': None, 'key': None, 'exec': None, 'tls_connect': False, 'fastopen': None}
    args = []
    it = iter(argv)
    for a in it:
        if a == '--timeout':
            opts['timeout'] = float(next(it))
        elif a == '--connect-timeout':
            opts['ctimeout'] = float(next(it))
        elif a == '--mask':
            old, _, new = next(it).partition('=')
            opts['masks'].append((old, new))
        elif a == '--raw':
            opts['raw'] = True
        elif a == '--tls-cert':
            opts['cert'] = next(it)
        elif a == '--tls-key':
            opts['key'] = next(it)
        elif a == '--fastopen':
            opts['fastopen'] = unescape(next(it))
        elif a == '--tls-on-connect':
            opts['tls_connect'] = True
        elif a == '--exec':
            opts['exec'] = next(it)
        elif a.startswith('--') and len(a) > 2:
            print('smtp-dialog: unknown option ' + a, file=sys.stderr)
            return 2
        else:
            args.append(a)
    # Longest masks first, so that a host name inside another is replaced whole.
    opts['masks'].sort(key=lambda m: -len(m[0]))
    if opts['exec'] is not None:
        if len(args) != 1:
            print('usage: smtp-dialog.py [options] --exec COMMAND SCRIPT', file=sys.stderr)
            return 2
        script = args[0]
    else:
        if len(args) != 3:
            print('usage: smtp-dialog.py [options] HOST PORT SCRIPT', file=sys.stderr)
            return 2
        script = args[2]
    with open(script, 'rb') as f:
        lines = expand(f.read().decode('utf-8', 'surrogateescape')).split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    lines = [l[:-1] if l.endswith('\r') else l for l in lines]
    try:
        if opts['exec'] is not None:
            peer = ExecPeer(opts['exec'])
        else:
            if opts['fastopen'] is not None:
                print('C: <with the connection request> ' + show(opts['fastopen']), flush=True)
            peer = SocketPeer(args[0], args[1], opts['ctimeout'], opts['fastopen'])
    except OSError as e:
        print('S: <connect failed: %s>' % (e.strerror or e), flush=True)
        return 1
    if opts['tls_connect']:
        print('C: <TLS on connect>', flush=True)
        try:
            peer.starttls(opts['cert'], opts['key'], opts['timeout'])
            print('S: <TLS established>', flush=True)
        except (OSError, ssl.SSLError):
            print('S: <TLS handshake failed>', flush=True)
            peer.close()
            return 0
    d = Dialogue(peer, opts)
    try:
        d.run(lines)
    except Closed:
        pass
    finally:
        peer.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
