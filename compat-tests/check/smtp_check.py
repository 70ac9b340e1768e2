# NAME
#	smtp_check - SMTP dialogues against throwaway loopback copies of the
#	configuration (--smtp)
# DESCRIPTION
#	Builds, inside the run's temp directory, a private instance of the
#	user's configuration for each side: own queue and data directory,
#	127.0.0.1 on a free high port, chroot off, and nothing that can
#	leave the machine (every delivery service - smtp, lmtp, pipe, local,
#	virtual, spawn - runs discard(8), relayhost, transport_maps, content
#	filters and milters cleared, inet policy servers pointed at a closed
#	loopback port). The reference instance runs the reference daemons;
#	ours runs our daemons where we have them and the reference's
#	elsewhere (the report names which). A standard set of dialogues,
#	built from the configuration's domains and its restriction tables'
#	keys (client identities through XCLIENT), is replayed against both
#	and every reply is compared. Both instances are stopped at the end.
import os
import re
import socket
import time

from common import FAIL, SKIP, copy_aged, split_list
import maps_check

AREA = "smtp"

DELIVERY = {"smtp", "lmtp", "pipe", "local", "virtual", "spawn", "qmqpd"}
CLEARED = {
    "default_transport": "discard", "relay_transport": "discard", "local_transport": "discard",
    "virtual_transport": "discard", "mailbox_transport": "", "mailbox_command": "", "fallback_transport": "",
    "transport_maps": "", "relayhost": "", "sender_dependent_relayhost_maps": "",
    "sender_dependent_default_transport_maps": "", "content_filter": "", "smtpd_milters": "",
    "non_smtpd_milters": "", "smtpd_authorized_xclient_hosts": "127.0.0.0/8", "master_service_disable": "",
    "multi_instance_enable": "no", "multi_instance_directories": "", "syslog_name": "postfix-compat",
    "smtpd_error_sleep_time": "0s", "inet_interfaces": "127.0.0.1", "inet_protocols": "ipv4",
    "smtpd_upstream_proxy_protocol": "", "always_bcc": "", "notify_classes": "",
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mixed_daemons(run, d):
    """Our daemons where we have them, the reference's elsewhere."""
    os.makedirs(d, exist_ok=True)
    ours = []
    for name in sorted(os.listdir(run.ref.libexec)):
        mine = os.path.join(run.ours.libexec, name) if run.ours.libexec else ""
        if mine and os.access(mine, os.X_OK) and not os.path.isdir(mine):
            os.symlink(mine, os.path.join(d, name))
            ours.append(name)
        else:
            os.symlink(os.path.join(run.ref.libexec, name), os.path.join(d, name))
    return ours


def master_entries(run, conf):
    o = run.exec([run.ref.prog("postconf"), "-c", conf, "-M"])
    entries = []
    for ln in o.stdout.decode("utf-8", "replace").splitlines():
        f = ln.split()
        if len(f) >= 8:
            entries.append(f)
    return entries


def build_master(entries, port):
    """The instance's master.cf: internal services, deliveries discarded,
    one loopback smtpd."""
    out, smtpd_args = [], None
    by = {(e[0], e[1]): e for e in entries}
    primary = by.get(("smtp", "inet")) or by.get(("25", "inet"))
    if primary and primary[7] == "smtpd":
        smtpd_args = primary[8:]
    elif primary and primary[7] == "postscreen" and ("smtpd", "pass") in by:
        smtpd_args = by[("smtpd", "pass")][8:]
    have_postlog = False
    for e in entries:
        if e[1] == "inet":
            continue
        cmd, args = e[7], e[8:]
        if cmd in DELIVERY:
            cmd, args = "discard", []
        have_postlog |= cmd == "postlogd"
        out.append(" ".join([e[0], e[1], e[2], e[3], "n", e[5], e[6], cmd] + args))
    if not have_postlog:
        out.append("postlog unix-dgram n - n - 1 postlogd")
    if smtpd_args is None:
        smtpd_args = []
    out.append(" ".join([f"127.0.0.1:{port}", "inet", "n", "-", "n", "-", "-", "smtpd"] + smtpd_args))
    return "\n".join(out) + "\n", primary


class Instance:
    def __init__(self, run, side, base, realconf):
        self.run, self.side, self.dir, self.realconf = run, side, base, realconf
        self.conf = os.path.join(base, "conf")
        self.port = run.opts.smtp_port + (0 if side is run.ref else 1) if run.opts.smtp_port else free_port()
        self.started = False
        self.ours_daemons = []
        self.notes = []

    def prepare(self, userconf):
        run = self.run
        for d in ("conf", "q", "d"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chmod(self.dir, 0o755)
        for f in ("main.cf", "master.cf"):
            if os.path.isfile(os.path.join(userconf, f)):
                copy_aged(os.path.join(userconf, f), os.path.join(self.conf, f))
        pc = run.ref.prog("postconf")
        if self.side is run.ref:
            daemons = run.ref.libexec
        else:
            daemons = os.path.join(self.dir, "libexec")
            self.ours_daemons = mixed_daemons(run, daemons)
        settings = dict(CLEARED)
        settings.update({
            "queue_directory": os.path.join(self.dir, "q"), "data_directory": os.path.join(self.dir, "d"),
            "maillog_file": os.path.join(self.dir, "maillog"), "maillog_file_prefixes": self.dir,
            "daemon_directory": daemons, "command_directory": self.side.sbin,
        })
        # Policy servers on the network: a closed loopback port instead.
        for name, value in maps_check.parse_params(run.exec([pc, "-c", self.conf, "-n"]).stdout.decode("utf-8", "replace")):
            if "check_policy_service" in value:
                new = re.sub(r"(check_policy_service\s+(?:\{\s*)?)inet:[^\s,}]+", r"\1inet:127.0.0.1:9", value)
                if new != value:
                    settings[name] = new
                    self.notes.append(f"{name}: inet policy servers replaced by a closed loopback port")
        run.exec([pc, "-c", self.conf, "-e"] + [f"{k}={v}" for k, v in settings.items()])
        self.private_tables(pc)
        entries = master_entries(run, self.conf)
        text, primary = build_master(entries, self.port)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(text)
        if primary and primary[7] == "postscreen":
            self.notes.append("postscreen in front of smtpd: the dialogues talk to smtpd directly")
        # Master.cf -o overrides that name milters or filters.
        for ln in run.exec([pc, "-c", self.conf, "-P"]).stdout.decode("utf-8", "replace").splitlines():
            key = ln.split(" = ", 1)[0]
            if re.search(r"/(smtpd_milters|non_smtpd_milters|content_filter|smtpd_upstream_proxy_protocol)$", key):
                run.exec([pc, "-c", self.conf, "-P", key + "="])
        past = time.time() - 120
        for f in os.listdir(self.conf):
            os.utime(os.path.join(self.conf, f), (past, past))
        try:
            import pwd
            os.chown(os.path.join(self.dir, "d"), pwd.getpwnam("postfix").pw_uid, -1)
        except (KeyError, PermissionError):
            pass

    # private_tables - indexed tables rebuilt by the side's postmap
    # (postalias) inside the instance (the server's own files are never
    # used or touched); text
    # tables missing at their path taken from --maps-from.
    def private_tables(self, pc):
        run = self.run
        maps = os.path.join(self.dir, "maps")
        rewrites = {}
        for scope, flag in (("main", "-nx"), ("master", "-Px")):
            for name, value in maps_check.parse_params(run.exec([pc, "-c", self.conf, flag]).stdout.decode("utf-8", "replace")):
                new = value
                for kind, path in maps_check.tables_in(value, name.rsplit("/", 1)[-1]):
                    if kind not in maps_check.INDEXED | maps_check.TEXT or not path.startswith("/"):
                        continue
                    src = maps_check.resolve_source(run, path)
                    if not src:
                        continue
                    if kind in maps_check.TEXT:
                        target = src
                    else:
                        os.makedirs(maps, exist_ok=True)
                        target = os.path.join(maps, f"{len(rewrites)}-{os.path.basename(path)}")
                        if not os.path.exists(target):
                            copy_aged(src, target)
                            alias = name.rsplit("/", 1)[-1] in maps_check.ALIAS_PARAMS
                            # Ours may still run some reference daemons: they
                            # read hash: as Berkeley DB, ours as LMDB; both
                            # files are made (ours last where names clash).
                            builders = [run.ref] if self.side is run.ref else [run.ref, run.ours]
                            for b in builders:
                                run.exec([b.prog("postalias" if alias else "postmap"), "-c", self.conf, f"{kind}:{target}"])
                    if target != path:
                        new = re.sub(r"(?<=%s:)%s(?=$|[\s,}])" % (re.escape(kind), re.escape(path)), target, new)
                        rewrites[(kind, path)] = target
                # A "/file" element of a list parameter (domains, networks).
                if re.search(r"(domains|destination|networks|_list|_hosts|_clients)$", name):
                    for tok in split_list(value):
                        if tok.startswith("/") and not os.path.exists(tok):
                            src = maps_check.resolve_source(run, tok)
                            if src:
                                new = re.sub(r"(?<![\w:])%s(?=$|[\s,])" % re.escape(tok), src, new)
                                rewrites[("file", tok)] = src
                if new != value:
                    if scope == "main":
                        run.exec([pc, "-c", self.conf, "-e", f"{name}={new}"])
                    else:
                        run.exec([pc, "-c", self.conf, "-P", f"{name}={new}"])
        if rewrites:
            self.notes.append(f"{len(rewrites)} tables and lists: indexed ones rebuilt by each side's postmap in the instance")

    def start(self):
        o = self.run.exec([self.side.prog("postfix"), "-c", self.conf, "start"], timeout=60)
        self.started = True
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return None
            except OSError:
                time.sleep(0.2)
        log = ""
        try:
            log = open(os.path.join(self.dir, "maillog"), errors="replace").read()[-600:]
        except OSError:
            pass
        return (o.stderr.decode("utf-8", "replace") + log).strip() or "no listener"

    def stop(self):
        if not self.started:
            return
        self.started = False
        self.run.exec([self.side.prog("postfix"), "-c", self.conf, "stop"], timeout=60)
        # A master that did not go: end it (and only it) by its pid file.
        pidf = os.path.join(self.dir, "q", "pid", "master.pid")
        try:
            pid = int(open(pidf).read().strip())
            if process_alive(pid):
                time.sleep(1)
                if process_alive(pid):
                    os.kill(pid, 15)
        except (OSError, ValueError):
            pass


def process_alive(pid):
    """True while pid runs; an exited process that init has not reaped yet
    (a zombie: it can take a while) counts as gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1] != "Z"
    except OSError:
        return False
    return False


def read_reply(f):
    lines = []
    while True:
        ln = f.readline()
        if not ln:
            lines.append("(connection closed)")
            break
        ln = ln.decode("utf-8", "replace").rstrip("\r\n")
        lines.append(ln)
        if len(ln) < 4 or ln[3] != "-":
            break
    return lines


def replay(port, dialogue):
    out = []
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
    except OSError as e:
        return [f"(connect: {e.strerror})"]
    f = s.makefile("rb")
    try:
        out += ["S: " + x for x in read_reply(f)]
        for cmd in dialogue:
            s.sendall(cmd.encode() + b"\r\n")
            out.append("C: " + (cmd if len(cmd) < 200 else cmd[:60] + "..."))
            if cmd == "DATA":
                rep = read_reply(f)
                out += ["S: " + x for x in rep]
                if rep[-1].startswith("354"):
                    s.sendall(b"From: <sender@example.com>\r\nTo: <rcpt@example.com>\r\nSubject: compat probe\r\n\r\nhello\r\n.\r\n")
                    out.append("C: (message) .")
                    out += ["S: " + x for x in read_reply(f)]
                continue
            rep = read_reply(f)
            out += ["S: " + x for x in rep]
            if rep[-1].startswith("421") or rep[-1] == "(connection closed)":
                break
    except OSError as e:
        out.append(f"(I/O error: {e.strerror or e})")
    finally:
        s.close()
    text = "\n".join(out) + "\n"
    return re.sub(r"queued as [0-9A-Za-z]+", "queued as QUEUEID", text)


def dialogues(run, conf):
    """Named command lists built from the configuration."""
    pc = run.ref.prog("postconf")
    params = maps_check.parse_params(run.exec([pc, "-c", conf, "-x"]).stdout.decode("utf-8", "replace"))
    values = dict(params)
    domains = []
    for p in ("mydestination", "virtual_alias_domains", "virtual_mailbox_domains", "relay_domains", "mydomain", "myhostname"):
        for tok in split_list(values.get(p, "")):
            if re.fullmatch(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}", tok) and tok not in domains:
                domains.append(tok)
    domains = domains[:5] or ["example.com"]
    d0 = domains[0]
    out = [
        ("basic", ["EHLO client.example.com", "MAIL FROM:<sender@example.com>", f"RCPT TO:<postmaster@{d0}>",
                   f"RCPT TO:<nosuchuser@{d0}>", "RCPT TO:<user@example.net>", "DATA", "QUIT"]),
        ("helo-forms", ["HELO localhost", "EHLO [127.0.0.1]", "EHLO bad_name!", "EHLO", "HELO", "QUIT"]),
        ("commands", ["NOOP", "HELP", "VRFY postmaster", "EXPN root", "FOO bar", "RSET", "ETRN example.com", "QUIT"]),
        ("order", ["MAIL FROM:<a@example.com>", "EHLO x.example.com", "RCPT TO:<b@example.com>", "DATA",
                   "MAIL FROM:<bad", "MAIL FROM:<a@example.com> SIZE=999999999999", "MAIL FROM:<a@example.com> BODY=8BITMIME",
                   "MAIL FROM:<a@example.com>", "QUIT"]),
        ("null-sender", ["EHLO client.example.com", "MAIL FROM:<>"] + [f"RCPT TO:<postmaster@{d}>" for d in domains]
         + [f"RCPT TO:<abuse@{d}>" for d in domains] + ["DATA", "QUIT"]),
    ]
    # Keys of the restriction tables: client, helo, sender and recipient probes.
    tables, _ = maps_check.discover(run, conf, conf)
    ips, names, addrs = [], [], []
    for t in tables or []:
        if not any("restriction" in p or p.endswith("_access_list") for p in t.params):
            continue
        src = maps_check.resolve_source(run, t.name) if t.kind in maps_check.INDEXED | maps_check.TEXT else None
        if not src:
            continue
        for k in maps_check.own_keys(src, t.kind, False, limit=200):
            k = k.strip().lower()
            if maps_check._is_ip(k):
                ips.append(k)
            elif re.fullmatch(r"[^@\s]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}", k):
                addrs.append(k)
            elif re.fullmatch(r"\.?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}", k):
                names.append(k.lstrip("."))
    ips, names, addrs = maps_check.dedupe(ips)[:8], maps_check.dedupe(names)[:8], maps_check.dedupe(addrs)[:8]
    for ip in ips + ["203.0.113.5", "192.168.1.10"]:
        out.append((f"client {ip}", [f"XCLIENT ADDR={ip} NAME=[UNAVAILABLE]", "EHLO probe.example.net",
                                     "MAIL FROM:<sender@example.net>", f"RCPT TO:<postmaster@{d0}>",
                                     "RCPT TO:<user@example.org>", "QUIT"]))
    for n in names:
        out.append((f"name {n}", [f"XCLIENT ADDR=203.0.113.7 NAME={n}", f"EHLO {n}", f"MAIL FROM:<user@{n}>",
                                  f"RCPT TO:<postmaster@{d0}>", f"RCPT TO:<user@{n}>", "QUIT"]))
    for a in addrs:
        out.append((f"address {a}", ["EHLO client.example.com", f"MAIL FROM:<{a}>", f"RCPT TO:<{a}>",
                                     f"RCPT TO:<postmaster@{d0}>", "QUIT"]))
    return out, domains


def check(run, conf, realconf):
    if os.geteuid() != 0:
        run.add(AREA, "smtp", SKIP, note="needs root (the instances' daemons run as mail_owner)")
        return
    if not run.ours.has("postfix"):
        run.add(AREA, "smtp", SKIP, note=f"no postfix command in {run.ours.sbin}")
        return
    dlg, domains = dialogues(run, conf)
    transcripts = {}
    instances = []
    try:
        for side in (run.ref, run.ours):
            inst = Instance(run, side, run.subdir("smtp-" + side.label), realconf)
            instances.append(inst)
            inst.prepare(conf)
            why = inst.start()
            if why:
                transcripts[side.label] = None
                run.add(AREA, f"{side.label} instance", FAIL if side is run.ours else SKIP,
                        note=f"the {side.label} instance did not start: {why.splitlines()[-1] if why else ''}",
                        diff=f"the {side.label} instance did not start:\n{why}\n")
                inst.stop()
                if side is run.ref:
                    return
                continue
            transcripts[side.label] = [(name, replay(inst.port, cmds)) for name, cmds in dlg]
            inst.stop()
    finally:
        for inst in instances:
            inst.stop()
    ours_inst = instances[-1]
    mine = [d for d in ours_inst.ours_daemons if d in ("smtpd", "cleanup", "trivial-rewrite", "qmgr", "master", "anvil")]
    run.note(AREA, f"ours runs our {', '.join(mine) or 'no'} daemons; the reference's elsewhere"
             + ("" if "smtpd" in mine else " (our smtpd is not built: both sides use the reference smtpd)"))
    run.note(AREA, "deliveries discarded, relayhost, transport_maps, content filters and milters cleared in the copies")
    for n in sorted(set(instances[0].notes)):
        run.note(AREA, n)
    if transcripts.get(run.ours.label) is None:
        return
    for (name, a), (_, b) in zip(transcripts[run.ref.label], transcripts[run.ours.label]):
        run.judge(AREA, "dialogue " + name, {run.ref.label: (a, "", ""), run.ours.label: (b, "", "")},
                  f"SMTP dialogue '{name}'", what=("replies", "", ""))
