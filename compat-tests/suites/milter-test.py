#!/usr/bin/env python3
# milter-test.py - a scripted Sendmail milter for the milter compat suite.
#
# usage: milter-test.py PORT SCRIPT LOG
#
# Listens on 127.0.0.1:PORT. For every connection it reads SCRIPT (JSON)
# afresh: {"events": {"R": "r", ...}, "eom": [[cmd, args...], ...],
# "final": "c", "flags": 0}. "events" gives the reply to an event
# (C H M R T L N B U; default "c", continue; "y:TEXT" is a reply code,
# "q:TEXT" a quarantine followed by continue). "eom" lists the
# modification requests sent after the end of the body:
#   ["h", name, value]            add header
#   ["i", index, name, value]     insert header
#   ["m", index, name, value]     change (value "" deletes) header
#   ["+", rcpt]  ["2", rcpt, args]  add recipient
#   ["-", rcpt]                   delete recipient
#   ["e", sender, args]           change sender
#   ["b", text]                   replace body (chunk)
#   ["q", reason]                 quarantine
#   ["p"]                         progress
# then "final" is the end-of-message decision. Every event with its
# arguments and the macros the MTA sent is appended to LOG.
import json
import socket
import socketserver
import struct
import sys

PORT, SCRIPT, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]


# SMFIP_NR_* bits: events that get no reply when the milter asks so.
NO_REPLY = {"C": 1 << 12, "H": 1 << 13, "M": 1 << 14, "R": 1 << 15, "T": 1 << 16, "U": 1 << 17,
            "L": 1 << 7, "N": 1 << 18, "B": 1 << 19}


def pkt(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd.encode() + data


def cstr(s):
    return s.encode("latin-1") + b"\0"


def log(line):
    with open(LOG, "a", encoding="latin-1") as f:
        f.write(line + "\n")


def reply(spec):
    if spec.startswith("y:"):
        return [pkt("y", cstr(spec[2:]))]
    if spec.startswith("q:"):
        return [pkt("q", cstr(spec[2:])), pkt("c")]
    return [pkt(spec)]


class Handler(socketserver.BaseRequestHandler):
    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def handle(self):
        with open(SCRIPT) as f:
            script = json.load(f)
        events = script.get("events", {})
        try:
            while True:
                (length,) = struct.unpack("!I", self.recv_exact(4))
                data = self.recv_exact(length)
                cmd, body = chr(data[0]), data[1:]
                if cmd == "O":
                    log("O %d" % struct.unpack("!I", body[:4]))
                    self.request.sendall(pkt("O", struct.pack("!III", 6, 0x1FF, script.get("flags", 0))))
                    continue
                if cmd == "D":
                    parts = [a.decode("latin-1") for a in body[1:].split(b"\0")][:-1]
                    log("D %s %s" % (chr(body[0]), " ".join("%s=%s" % (parts[i], parts[i + 1])
                                                           for i in range(0, len(parts) - 1, 2))))
                    continue
                args = [a.decode("latin-1") for a in body.split(b"\0")]
                if cmd == "B":
                    log("B %r" % body.decode("latin-1"))
                elif cmd == "C":
                    port = struct.unpack("!H", body[len(args[0]) + 2:len(args[0]) + 4])[0]
                    log("C %s %s %d %s" % (args[0], chr(body[len(args[0]) + 1]), port, body[len(args[0]) + 4:-1].decode()))
                else:
                    log("%s %s" % (cmd, " | ".join(args[:-1] if args and args[-1] == "" else args)))
                if cmd in ("A",):
                    continue
                if cmd in ("Q", "K"):
                    return
                if cmd == "E":
                    out = []
                    for e in script.get("eom", []):
                        c = e[0]
                        if c == "h":
                            out.append(pkt("h", cstr(e[1]) + cstr(e[2])))
                        elif c in ("i", "m"):
                            out.append(pkt(c, struct.pack("!I", e[1]) + cstr(e[2]) + cstr(e[3])))
                        elif c in ("+", "-"):
                            out.append(pkt(c, cstr(e[1])))
                        elif c in ("2", "e"):
                            out.append(pkt(c, cstr(e[1]) + (cstr(e[2]) if len(e) > 2 else b"")))
                        elif c == "b":
                            out.append(pkt("b", e[1].encode("latin-1")))
                        elif c == "q":
                            out.append(pkt("q", cstr(e[1])))
                        elif c == "p":
                            out.append(pkt("p"))
                    out += reply(script.get("final", "c"))
                    self.request.sendall(b"".join(out))
                    continue
                if script.get("flags", 0) & NO_REPLY.get(cmd, 0):
                    continue
                self.request.sendall(b"".join(reply(events.get(cmd, "c"))))
        except (EOFError, ConnectionError):
            return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
