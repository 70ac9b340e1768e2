# NAME
#	maps_check - every lookup table of the configuration, ours against
#	the reference
# DESCRIPTION
#	Finds the tables named in main.cf (postconf -nx) and in master.cf
#	-o overrides (postconf -Px). Indexed tables (hash, btree, lmdb, cdb)
#	are rebuilt from their source text in the run's temp directory, once
#	with each postmap (postalias for alias tables), and compared by
#	build output, -s dump and -q of every probe key. Text and in-memory
#	tables (regexp, pcre, cidr, texthash, inline, static, ...) are read
#	in place, never written, and compared with -q over the probe keys:
#	the table's own keys, the addresses and domains of the
#	configuration, and a set of generic probes. Server tables (SQL,
#	LDAP, memcache, tcp, socketmap) are queried only when their server
#	answers on a TCP or UNIX socket; otherwise they are listed as not
#	checked offline.
import ipaddress
import os
import re
import socket

from common import SKIP, copy_aged, split_list

AREA = "maps"

INDEXED = {"hash", "btree", "lmdb", "cdb", "dbm", "sdbm"}
TEXT = {"regexp", "pcre", "cidr", "texthash"}
MEMORY = {"inline", "static", "environ", "unix", "internal", "fail"}
COMPOSITE = {"pipemap", "unionmap"}
SERVER = {"mysql", "pgsql", "ldap", "sqlite", "memcache", "tcp", "socketmap", "nis", "nisplus"}
ALL_TYPES = INDEXED | TEXT | MEMORY | COMPOSITE | SERVER | {"randmap", "proxy"}
ALIAS_PARAMS = {"alias_maps", "alias_database"}
NOT_TABLE_AFTER = {"check_policy_service"}
# Not lookup tables to compare: milters, filters, relay hosts, and the
# caches the daemons write (postscreen, verify, TLS sessions).
NOT_TABLE_PARAMS = re.compile(r"(milters$|^content_filter$|_policy_|relayhost$|cache|^address_verify_map$)")

GENERIC_PROBES = [
    "localhost", "localhost.localdomain", "root", "postmaster", "abuse", "MAILER-DAEMON", "nobody",
    "root@localhost", "postmaster@localhost", "user@example.com", "user+ext@example.com",
    "User@Example.COM", "@example.com", "example.com", "mail.example.com", "example.net",
    "127.0.0.1", "127.0.0.2", "10.1.2.3", "172.16.0.1", "192.168.1.10", "203.0.113.5", "8.8.8.8",
    "::1", "2001:db8::1", "fe80::1", "[127.0.0.1]", "unknown",
    "dynamic-10-1-2-3.dsl.example.net", "host-203-0-113-5.static.example.org", "mail.example.org",
    "Subject: hello", "Subject: test message", "Subject: FREE VIAGRA", "From: user@example.com",
    "To: undisclosed-recipients:;", "Received: from unknown ([203.0.113.5])",
    "Content-Type: text/html", "Content-Type: multipart/mixed; boundary=x",
    "X-Mailer: PHPMailer 5.2", "Message-ID: <a@example.com>", "MIME-Version: 1.0",
    "X-Originating-IP: [10.1.2.3]", "User-Agent: Mozilla/5.0", "Date: Mon, 1 Jan 2024 00:00:00 +0000",
]


class Table:
    def __init__(self, kind, name, alias):
        self.kind, self.name, self.alias = kind, name, alias
        self.params = []

    @property
    def title(self):
        return f"{self.kind}:{self.name}"


# find_tables - (type, name) references in one parameter value.
def tables_in(value, param):
    found = []
    if NOT_TABLE_PARAMS.search(param):
        return found
    prev = ""
    for tok in split_list(value):
        if prev in NOT_TABLE_AFTER:
            prev = tok
            continue
        prev = tok
        t = tok
        while t.startswith("proxy:"):
            t = t[len("proxy:"):]
        m = re.match(r"^([a-z]+):(.+)$", t, re.S)
        if not m or m.group(1) not in ALL_TYPES:
            continue
        kind, name = m.group(1), m.group(2)
        if kind == "unix" and name not in ("passwd.byname", "group.byname"):
            continue
        found.append((kind, name))
        if kind in COMPOSITE and name.startswith("{") and name.endswith("}"):
            found.extend(tables_in(name[1:-1], param))
    return found


def parse_params(text):
    out = []
    for ln in text.splitlines():
        if " = " in ln:
            n, v = ln.split(" = ", 1)
            out.append((n.strip(), v))
        elif ln.endswith(" ="):
            out.append((ln[:-2].strip(), ""))
    return out


def discover(run, conf, realconf):
    tables = {}
    pc = run.ref.prog("postconf")
    o = run.exec([pc, "-c", conf, "-nx"])
    if o.status != 0:
        return None, []
    main = parse_params(o.stdout.decode("utf-8", "replace"))
    have = {n for n, _ in main}
    allx = parse_params(run.exec([pc, "-c", conf, "-x"] + sorted(ALIAS_PARAMS)).stdout.decode("utf-8", "replace"))
    main += [(n, v) for n, v in allx if n not in have]
    master = parse_params(run.exec([pc, "-c", conf, "-Px"]).stdout.decode("utf-8", "replace"))
    for params in (main, master):
        for param, value in params:
            short = param.rsplit("/", 1)[-1]
            for kind, name in tables_in(value, short):
                name = name.replace(conf, realconf)
                alias = short in ALIAS_PARAMS
                key = (kind, name, alias)
                if key not in tables:
                    tables[key] = Table(kind, name, alias)
                tables[key].params.append(param)
    return list(tables.values()), main


# config_probes - addresses, domains and networks named in main.cf.
def config_probes(params):
    probes = []
    for name, value in params:
        for tok in split_list(value):
            if ":" in tok and not _is_ip(tok.split("/")[0].strip("[]")):
                continue
            tok = tok.strip("[]<>")
            if re.fullmatch(r"[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", tok):
                probes += [tok, tok.split("@")[1]]
            elif re.fullmatch(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}", tok) and not tok.endswith((".cf", ".db", ".pem", ".key", ".crt")):
                probes += [tok, "postmaster@" + tok, "nosuchuser@" + tok, "@" + tok, "sub." + tok]
            elif _is_ip(tok.split("/")[0]):
                probes += _net_probes(tok)
    return probes


def _is_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def _net_probes(tok):
    try:
        net = ipaddress.ip_network(tok, strict=False)
    except ValueError:
        return []
    first = net.network_address
    out = [str(first)]
    if net.num_addresses > 1:
        out.append(str(first + 1))
    try:
        out.append(str(net.broadcast_address + 1))
    except ValueError:
        pass
    return out


# own_keys - the lookup keys a table's own text names.
def own_keys(path, kind, alias, limit=3000):
    keys = []
    try:
        with open(path, "rb") as f:
            data = f.read(4 << 20)
    except OSError:
        return keys
    for raw in data.decode("utf-8", "replace").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw[0] in " \t":
            continue
        k = raw.split()[0] if not raw.startswith('"') else raw.split('"')[1] if raw.count('"') >= 2 else raw.split()[0]
        if alias:
            k = k.split(":")[0]
        if kind == "cidr":
            if k.lower() in ("if", "endif"):
                continue
            keys += _net_probes(k.lstrip("!"))
            continue
        if kind in ("regexp", "pcre"):
            continue
        keys += [k, k.upper()]
        if len(keys) >= limit:
            break
    return keys


def inline_keys(name):
    body = name.strip()[1:-1] if name.strip().startswith("{") else ""
    keys = []
    for item in split_list(body):
        item = item.strip("{} ")
        if "=" in item:
            keys.append(item.split("=", 1)[0].strip())
    return keys


def dedupe(seq):
    seen, out = set(), []
    for x in seq:
        if x and x not in seen and "\n" not in x:
            seen.add(x)
            out.append(x)
    return out


def resolve_source(run, path):
    if os.path.isabs(path) and os.path.exists(path):
        return path
    if run.opts.maps_from:
        alt = os.path.join(run.opts.maps_from, os.path.basename(path))
        if os.path.exists(alt):
            return alt
    return None


def server_reachable(table, source):
    """(True, where) when the table's server accepts a connection."""
    targets = []
    name = table.name
    if table.kind in ("tcp",):
        targets.append(name)
    elif table.kind == "socketmap":
        m = re.match(r"(inet|unix):(.+?)(?::[^:]*)?$", name)
        if m:
            targets.append(("unix:" if m.group(1) == "unix" else "") + m.group(2))
    elif source:
        try:
            text = open(source, encoding="utf-8", errors="replace").read()
        except OSError:
            text = ""
        for m in re.finditer(r"^\s*(hosts|server_host|memcache)\s*=\s*(.+)$", text, re.M):
            targets += split_list(m.group(2))
    for t in targets:
        t = re.sub(r"^(ldaps?|tcp|inet)://?", "", t).rstrip("/")
        try:
            if t.startswith(("unix:", "/")):
                p = t.split(":", 1)[1] if t.startswith("unix:") else t
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(1)
                s.connect(p)
            else:
                host, _, port = t.rpartition(":")
                if not host:
                    host, port = t, {"mysql": "3306", "pgsql": "5432", "ldap": "389"}.get(table.kind, "0")
                s = socket.create_connection((host.strip("[]"), int(port)), timeout=1)
            s.close()
            return True, t
        except (OSError, ValueError):
            continue
    return False, ", ".join(targets) or "no server named"


def check(run, conf, realconf):
    tables, params = discover(run, conf, realconf)
    if tables is None:
        run.note(AREA, "skipped: the reference postconf cannot read the configuration")
        return
    if not tables:
        run.note(AREA, "no lookup tables referenced in main.cf or master.cf")
        return
    # Both programs first read main.cf: when the reference refuses it,
    # every table case would only repeat that (one second each).
    for prog in sorted({"postalias" if t.alias else "postmap" for t in tables}):
        res = {}
        status = {}
        for side in (run.ref, run.ours):
            o = run.exec([side.prog(prog), "-c", conf, "-q", "probe", "static:found"])
            res[side.label] = (run.normalize(side, o.stdout), run.normalize(side, o.stderr), str(o.status) + "\n")
            status[side.label] = (o.status, run.normalize(side, o.stderr).strip())
        run.judge(AREA, f"{prog} reads main.cf", res, f"{prog} -q probe static:found")
        if status[run.ref.label][0] != 0:
            run.note(AREA, f"table checks with {prog} skipped: the reference stops with: {status[run.ref.label][1]}")
            tables = [t for t in tables if ("postalias" if t.alias else "postmap") != prog]
    probes = dedupe(config_probes(params) + GENERIC_PROBES)
    workdir = run.subdir("maps")
    for n, t in enumerate(sorted(tables, key=lambda t: (t.kind, t.name))):
        used = ", ".join(sorted(set(t.params))[:3]) + (" ..." if len(set(t.params)) > 3 else "")
        prog = "postalias" if t.alias else "postmap"
        if t.kind in INDEXED or t.kind == "texthash":
            src = resolve_source(run, t.name)
            if not src:
                run.add(AREA, t.title, SKIP, note=f"source file not found (used by {used})")
                continue
            keys = dedupe(own_keys(src, t.kind, t.alias) + probes)
            stdin = ("\n".join(keys) + "\n").encode()
            if t.kind == "texthash":
                run.compare(AREA, t.title + " -q", prog, ["-c", conf, "-q", "-", f"texthash:{src}"], stdin=stdin,
                            label=f"{prog} -q - {t.title} ({len(keys)} keys)")
                continue
            d = os.path.join(workdir, str(n))
            for side in (run.ref, run.ours):
                os.makedirs(os.path.join(d, side.label), exist_ok=True)
                copy_aged(src, os.path.join(d, side.label, "table"))
            # hash: is Berkeley DB in the reference, LMDB in ours.
            extra = [(".lmdb", ".db")] if t.kind == "hash" else []
            cwd = lambda side, d=d: os.path.join(d, side.label)
            name = f"{t.kind}:table"
            run.compare(AREA, t.title + " build", prog, ["-c", conf, name], cwd=cwd, extra=extra,
                             label=f"{prog} {t.title} (a copy, in the temp dir)")
            run.compare(AREA, t.title + " -s", prog, ["-c", conf, "-s", name], cwd=cwd, extra=extra,
                        sort_stdout=True, post=_yp_time, label=f"{prog} -s {t.title} (sorted)")
            run.compare(AREA, t.title + " -q", prog, ["-c", conf, "-q", "-", name], stdin=stdin, cwd=cwd,
                        extra=extra, label=f"{prog} -q - {t.title} ({len(keys)} keys)")
        elif t.kind in ("regexp", "pcre", "cidr"):
            src = resolve_source(run, t.name)
            if not src:
                run.add(AREA, t.title, SKIP, note=f"file not found (used by {used})")
                continue
            keys = dedupe(own_keys(src, t.kind, False) + probes)
            run.compare(AREA, t.title + " -q", prog, ["-c", conf, "-q", "-", f"{t.kind}:{src}"],
                        stdin=("\n".join(keys) + "\n").encode(), label=f"{prog} -q - {t.title} ({len(keys)} keys)")
        elif t.kind in MEMORY or t.kind in COMPOSITE:
            keys = dedupe(inline_keys(t.name) + probes) if t.kind == "inline" else probes
            if t.kind in COMPOSITE and any(k in INDEXED for k, _ in tables_in(t.name[1:-1], "x")):
                run.add(AREA, t.title, SKIP, note="composite of indexed tables: components checked one by one")
                continue
            run.compare(AREA, t.title + " -q", prog, ["-c", conf, "-q", "-", t.title],
                        stdin=("\n".join(keys) + "\n").encode(), label=f"{prog} -q - {t.title} ({len(keys)} keys)")
        elif t.kind == "randmap":
            run.add(AREA, t.title, SKIP, note="random results: not comparable")
        else:
            src = resolve_source(run, t.name) if t.name.startswith("/") else None
            up, where = server_reachable(t, src)
            if not up:
                run.add(AREA, t.title, SKIP, note=f"not checked offline: {t.kind} server ({where}) not reachable")
                continue
            run.compare(AREA, t.title + " -q", prog, ["-c", conf, "-q", "-", t.title],
                        stdin=("\n".join(probes) + "\n").encode(), label=f"{prog} -q - {t.title} (server {where})")


def _yp_time(text):
    return re.sub(r"^(YP_LAST_MODIFIED:?\t)[0-9]+$", r"\1TIME", text, flags=re.M)
