# postfix-hooks.sh - "postfix hooks" and "postfix explain": OUR
# behaviour (the reference has no such commands), asserted as findings.
#
# hooks: on every configuration set of the compat corpus
# (COMPAT_CORPUS, default /work/shared/compat-corpus): exit status 0,
# valid JSON, and an independent cross-check written in Python that reads
# main.cf/master.cf naively: every smtpd_milters/non_smtpd_milters
# endpoint, every check_policy_service endpoint, every content_filter,
# every pipe command (argv=) and every smtpd_proxy_filter must be found
# (the known hooks); every hook found must name an endpoint that occurs in
# the files (nothing invented). Plus hand-picked findings per set, --all,
# and a Graphviz render of --format dot when dot(1) is installed.
# explain: a private configuration with canonical, virtual alias,
# transport, relocated and alias tables; each step asserted from JSON.

HK_BIN=$OUR_SBIN/postfix
HK_CORPUS=${COMPAT_CORPUS:-/work/shared/compat-corpus}
HK_T=$COMPAT_TMP/hooks
mkdir -p "$HK_T"

# hk_case NAME CMD... - record pass when CMD succeeds.
hk_case() {
    local name=$1; shift
    if "$@" >"$HK_T/case.out" 2>&1; then
        record "hooks/$name" 1
    else
        record "hooks/$name" 0
        [ -n "${VERBOSE:-}" ] && { echo "FAIL hooks/$name"; cat "$HK_T/case.out"; }
    fi
}

# hk_json SET - hooks of a corpus set as JSON, cached.
hk_json() {
    local f=$HK_T/$1.json
    [ -f "$f" ] || "$HK_BIN" hooks -c "$HK_CORPUS/$1" --format json >"$f" 2>"$HK_T/$1.err"
    echo "$f"
}

# hk_has SET PROTOCOL_RE ENDPOINT_RE - a hook matches both.
hk_has() {
    python3 - "$(hk_json "$1")" "$2" "$3" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
ok = any(re.search(sys.argv[2], h["protocol"]) and re.search(sys.argv[3], h["endpoint"]) for h in d["hooks"])
sys.exit(0 if ok else 1)
EOF
}

# hk_crosscheck SET - the independent oracle described above.
hk_crosscheck() {
    python3 - "$HK_CORPUS/$1" "$(hk_json "$1")" <<'EOF'
import json, re, sys, os
base, js = sys.argv[1], sys.argv[2]
d = json.load(open(js))
def logical(path):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t" and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line.strip())
    return out
main = logical(os.path.join(base, "main.cf"))
master = logical(os.path.join(base, "master.cf"))
params = {}
for l in main:
    if "=" in l:
        k, v = l.split("=", 1)
        params[k.strip()] = v.strip()
def expand(v, depth=0):
    if depth > 10:
        return v
    return re.sub(r"\$\{?(\w+)\}?", lambda m: expand(params.get(m.group(1), m.group(0)), depth + 1), v)
defaults = {"data_directory": "/var/lib/postfix", "queue_directory": "/var/spool/postfix",
            "config_directory": base, "daemon_directory": "/usr/lib/postfix/sbin"}
for k, v in defaults.items():
    params.setdefault(k, v)
text = "\n".join(main + master + [expand(l) for l in main + master])
flat = re.sub(r"\s+", " ", text)
hooks = d["hooks"]
endpoints = [h["endpoint"] for h in hooks]
problems = []
def need(what, ep):
    if not any(ep == e or ep in e for e in endpoints):
        problems.append("missing %s %s" % (what, ep))
def items(v):
    v = re.sub(r"[{}]", " ", v)
    return [x for x in re.split(r"[\s,]+", v) if x]
# -o values of smtpd services count too
overrides = []
for l in master:
    for m in re.finditer(r"-o\s+(\{\s*)?(\w+)\s*=(?(1)\s*)([^\s}]*)", l):
        overrides.append((m.group(2), m.group(3)))
values = list(params.items()) + overrides
for k, v in values:
    v = expand(v)
    if k in ("smtpd_milters", "non_smtpd_milters"):
        for m in items(v):
            if re.match(r"(inet|unix):", m):
                need("milter", m)
    if k.endswith("_restrictions") or k in params.get("smtpd_restriction_classes", ""):
        for m in re.finditer(r"check_policy_service\s+\{?\s*([^\s,}]+)", v):
            need("policy", m.group(1))
    if k == "content_filter" and v:
        nh = v.split(":", 1)[1] if ":" in v else v
        if nh:
            need("content_filter", nh)
    if k == "smtpd_proxy_filter" and v:
        need("proxy filter", v)
for l in master:
    f = l.split()
    if len(f) >= 8 and f[7] == "pipe":
        m = re.search(r"argv=(\S+)", l)
        if m:
            need("pipe command", m.group(1))
# nothing invented: each endpoint (or each part of a list) occurs in the files
for h in hooks:
    ep = h["endpoint"]
    if h["parameter"] in ("smtpd_sasl_auth_enable",) or ep.startswith("(") or ep in ("verify(8)", "yes"):
        continue
    parts = [p for p in re.split(r",\s*", ep) if p] if "," in ep and not ep.startswith("/") else [ep]
    for p in parts:
        if p not in text and p not in flat and re.sub(r"\s+", " ", p) not in flat:
            problems.append("invented? %s %s %s" % (h["parameter"], h["protocol"], p))
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
}

# hk_domains - "set domain" per corpus set: a domain the configuration
# handles (mydestination, virtual or relay domains), naively read.
hk_domains() {
    python3 - "$HK_CORPUS" <<'EOF'
import os, re, sys
base = sys.argv[1]
for name in sorted(os.listdir(base)):
    path = os.path.join(base, name, "main.cf")
    if not os.path.isfile(path):
        continue
    lines = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t" and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line.strip())
    params = {}
    for l in lines:
        if "=" in l:
            k, v = l.split("=", 1)
            params[k.strip()] = v.strip()
    def expand(v, depth=0):
        if depth > 10:
            return v
        return re.sub(r"\$\{?(\w+)\}?", lambda m: expand(params.get(m.group(1), ""), depth + 1), v)
    domain = "example.com"
    for p in ("mydestination", "virtual_mailbox_domains", "virtual_alias_domains", "relay_domains"):
        found = [w for w in re.split(r"[\s,]+", expand(params.get(p, ""))) if re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", w) and not w.startswith("localhost")]
        if found:
            domain = found[0]
            break
    print(name, domain)
EOF
}
# hk_explain_corpus - explain address (info@, postmaster@ a domain of the
# set) and explain smtp on every set, into files; it runs in the
# background beside the hooks cases (a tcp: table that refuses
# connections costs dict_tcp's nine one-second retry pauses).
hk_explain_corpus() {
    local set dom lp
    while read -r set dom; do
        for lp in info postmaster; do
            "$HK_BIN" explain address "$lp@$dom" -c "$HK_CORPUS/$set" </dev/null >"$HK_T/$set.$lp.explain" 2>"$HK_T/$set.$lp.explain.err"
            echo $? >"$HK_T/$set.$lp.explain.rc"
        done
        "$HK_BIN" explain smtp -c "$HK_CORPUS/$set" --no-external --client 192.0.2.1,unknown --helo x --from a@example.org \
            --to "postmaster@$dom" </dev/null >"$HK_T/$set.smtp" 2>"$HK_T/$set.smtp.err"
        echo $? >"$HK_T/$set.smtp.rc"
    done <"$HK_T/domains"
}
hk_explain_pid=
if [ -x "$HK_BIN" ] && [ -d "$HK_CORPUS" ]; then
    hk_domains >"$HK_T/domains"
    hk_explain_corpus &
    hk_explain_pid=$!
fi

if [ ! -x "$HK_BIN" ]; then
    record "hooks/binary" 0
elif [ ! -d "$HK_CORPUS" ]; then
    echo "postfix-hooks: no corpus at $HK_CORPUS; corpus cases skipped"
else
    for hk_dir in "$HK_CORPUS"/*/; do
        hk_set=$(basename "$hk_dir")
        [ -f "$hk_dir/main.cf" ] || continue
        hk_case "$hk_set/text" "$HK_BIN" hooks -c "$HK_CORPUS/$hk_set"
        hk_case "$hk_set/json" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$(hk_json "$hk_set")"
        hk_case "$hk_set/found-and-not-invented" hk_crosscheck "$hk_set"
    done
    # Hand-picked findings.
    hk_case mailcow-rendered/milter hk_has mailcow-rendered '^milter$' '^inet:rspamd:9900$'
    hk_case mailcow-rendered/lmtp hk_has mailcow-rendered '^LMTP delivery$' '^inet:dovecot:24$'
    hk_case mailcow-rendered/socketmap hk_has mailcow-rendered 'TLS policy, socketmap' '^socketmap:inet:postfix-tlspol:8642:QUERY$'
    hk_case mailcow-rendered/dnswl hk_has mailcow-rendered '^DNSWL$' 'list\.dnswl\.org'
    hk_case mailcow-rendered/sasl hk_has mailcow-rendered 'SASL server \(dovecot\)' 'dovecot'
    hk_case mailcow-rendered/haproxy hk_has mailcow-rendered 'HAProxy' '^haproxy$'
    hk_case pmg/policy hk_has pmg '^policy delegation$' '^inet:127\.0\.0\.1:10022$'
    hk_case pmg/content-filter-lmtp hk_has pmg 'after-queue content filter over LMTP' '^127\.0\.0\.1:10024$'
    hk_case pmg/xforward hk_has pmg '^XFORWARD$' '127\.0\.0\.0/8'
    hk_case pmg-bqf/proxy-filter hk_has pmg-bqf '^before-queue SMTP proxy$' '^127\.0\.0\.1:10024$'
    hk_case dms-2018/spawned-policy hk_has dms-2018 '^policy delegation$' '^unix:private/policyd-spf$'
    hk_case dms-2018/user-defined-milter hk_has dms-2018 '^milter$' '^inet:localhost:8893$'
    hk_case dms-2018/content-filter-smtp hk_has dms-2018 'after-queue content filter over SMTP' '^\[127\.0\.0\.1\]:10024$'
    hk_case dms-2018/dnsbl hk_has dms-2018 '^DNSBL \(reject_rbl_client\)$' '^zen\.spamhaus\.org$'
    hk_case iredmail/dovecot-pipe hk_has iredmail-debian12-mysql '^pipe delivery$' '^/usr/lib/dovecot/deliver '
    hk_case iredmail/eod-policy hk_has iredmail-debian12-mysql '^policy delegation$' '^inet:127\.0\.0\.1:7777$'
    hk_case iredmail/sql-table hk_has iredmail-debian12-mysql 'SQL \(mysql\)' 'mysql:'
    # Services named by -o overrides only: submission's encrypt level.
    hk_case mailcow-rendered/override-origin python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
sys.exit(0 if any(h["parameter"]=="smtpd_tls_security_level" and h["origin"]=="master.cf" and h["endpoint"]=="encrypt" and "submission/inet" in h["services"] for h in d["hooks"]) else 1)' "$(hk_json mailcow-rendered)"
    # An empty reference configuration wires nothing.
    hk_case upstream-3.7.11/none python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["hooks"]==[] else 1)' "$(hk_json upstream-3.7.11)"
    # --all lists what is not used, with its purpose.
    "$HK_BIN" hooks -c "$HK_CORPUS/upstream-3.7.11" --all >"$HK_T/all.txt" 2>&1
    hk_case all/lists-unused grep -q '^  \[smtpd session\] smtpd_milters: ' "$HK_T/all.txt"
    "$HK_BIN" hooks -c "$HK_CORPUS/pmg" --all --format json >"$HK_T/all.json" 2>&1
    hk_case all/json-used-not-listed python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
av=[a["parameter"] for a in d["available"]]
sys.exit(0 if "transport_maps" not in av and "smtpd_milters" in av and all(a["purpose"] for a in d["available"]) else 1)' "$HK_T/all.json"
    # --format dot: a graph, rendered by Graphviz when present.
    for hk_set in mailcow-rendered dms-2018 pmg-bqf iredmail-debian12-mysql; do
        "$HK_BIN" hooks -c "$HK_CORPUS/$hk_set" --format dot >"$HK_T/$hk_set.dot" 2>/dev/null
        hk_case "$hk_set/dot-graph" grep -q '^digraph postfix {' "$HK_T/$hk_set.dot"
        if command -v dot >/dev/null 2>&1; then
            hk_case "$hk_set/dot-renders" dot -Tsvg -o "$HK_T/$hk_set.svg" "$HK_T/$hk_set.dot"
        fi
    done
fi

# --format dot draws a content filter's way back: transport -> filter ->
# the re-injection smtpd (master.cf service with content_filter cleared).
hk_dot_reinjection() {
    python3 - "$HK_T/$1.dot" "$2" "$3" <<'EOF'
import re, sys
dot, listener, transport = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
labels = {m.group(1): m.group(2) for m in re.finditer(r'^  (\w+) \[shape=[^\n]*label="((?:[^"\\]|\\.)*)"', dot, re.M)}
def node(prefix): return [i for i, l in labels.items() if l.startswith(prefix)]
back = [f for f in node("content filter") for r in node(listener + "\\n")
        if re.search(r'^  %s -> %s \[[^\n]*label="re-injection"' % (f, r), dot, re.M)]
fed = [f for f in back for t in node(transport + "\\n") if re.search(r'^  %s -> %s \[' % (t, f), dot, re.M)]
sys.exit(0 if back and fed else 1)
EOF
}
if [ -x "$HK_BIN" ] && [ -d "$HK_CORPUS" ]; then
    "$HK_BIN" hooks -c "$HK_CORPUS/pmg" --format dot >"$HK_T/pmg.dot" 2>/dev/null
    hk_case dms-2018/dot-reinjection hk_dot_reinjection dms-2018 127.0.0.1:10025/inet smtp-amavis
    hk_case pmg/dot-reinjection hk_dot_reinjection pmg 127.0.0.1:10025/inet scan
fi

# explain address and explain smtp on every corpus set: both run to the
# end (exit 0, a result line) although most sets name tables this machine
# lacks (absolute paths, hash: without .lmdb, mysql/ldap, missing .cf
# files): such a table is a surrogate whose lookups fail, reported at the
# step that uses it, with the daemons' temporary failure.
if [ -n "${hk_explain_pid:-}" ]; then
    wait "$hk_explain_pid"
    while read -r hk_set hk_dom; do
        for hk_local in info postmaster; do
            hk_case "$hk_set/explain-address-$hk_local" awk -v rc="$(cat "$HK_T/$hk_set.$hk_local.explain.rc")" '
                /^result:$/ { r = 1; next } r && /^  .* -> / { n++ } END { exit !(rc == 0 && n > 0) }' "$HK_T/$hk_set.$hk_local.explain"
        done
        hk_case "$hk_set/explain-smtp" test "$(cat "$HK_T/$hk_set.smtp.rc")" = 0 -a -n "$(grep '^result: .' "$HK_T/$hk_set.smtp")"
        # reasons are strerror texts, never stripped .NET resource keys
        hk_case "$hk_set/explain-reasons" sh -c '! grep -l "IO_[A-Za-z]*_\|_FileName" "$@"' sh \
            "$HK_T/$hk_set".*explain* "$HK_T/$hk_set".smtp*
    done <"$HK_T/domains"
    # hk_says NAME FILE TEXT - FILE has a line that is exactly TEXT.
    hk_says() { hk_case "$1" grep -qxF -- "$3" "$HK_T/$2"; }
    hk_says dms/virtual-unavailable-at-step dms.info.explain \
        "        table texthash:/etc/postfix/virtual: unavailable: open database /etc/postfix/virtual: No such file or directory"
    hk_says dms/cleanup-would-defer dms.info.explain \
        "        cleanup would not accept this message: would defer (451 4.3.0 Error: queue file write error)"
    hk_says dms/smtp-451 dms.smtp "  => 451 4.3.0 <postmaster@$(awk '$1=="dms"{print $2}' "$HK_T/domains")>: Temporary lookup failure"
    hk_case dms/smtp-would-defer grep -q '^result: would defer: ' "$HK_T/dms.smtp"
    hk_says debian12/aliases-unavailable debian12-internet-site.postmaster.explain \
        "        table hash:/etc/aliases: unavailable: open database /etc/aliases.lmdb: No such file or directory"
    hk_case debian12/local-would-defer grep -q 'local(8) would defer (4.3.0 alias database unavailable)' "$HK_T/debian12-internet-site.postmaster.explain"
    hk_says sovereign/pgsql-cf-missing sovereign.info.explain \
        "  table pgsql:/etc/postfix/pgsql-virtual-alias-maps.cf: unavailable: open /etc/postfix/pgsql-virtual-alias-maps.cf: No such file or directory"
    hk_says iredmail/mysql-unsupported iredmail-debian12-mysql.info.explain \
        "  table mysql:/etc/postfix/mysql/virtual_alias_maps.cf: unavailable: unsupported dictionary type: mysql"
    hk_says zentyal/nofile-strerror zentyal.smtp \
        "  table nofile:/etc/mailname: unavailable: open file /etc/mailname: No such file or directory"
    hk_case camjn/smtpd-would-not-start grep -q '^result: smtpd would not start here: fatal: in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions' "$HK_T/camjn-macos-2014.smtp"
    "$HK_BIN" explain address "info@$(awk '$1=="dms"{print $2}' "$HK_T/domains")" -c "$HK_CORPUS/dms" --format json >"$HK_T/dms.json" 2>/dev/null
    hk_case dms/explain-json-unavailable python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
u="table texthash:/etc/postfix/virtual: unavailable: open database /etc/postfix/virtual: No such file or directory"
sys.exit(0 if u in d["unavailable"] and any(u in s["unavailable"] for s in d["steps"]) and any(l.get("error") for s in d["steps"] for l in s["lookups"]) else 1)' "$HK_T/dms.json"
fi

# explain address on a private configuration.
HK_C=$HK_T/explain
mkdir -p "$HK_C"
cat >"$HK_C/main.cf" <<EOF
myhostname = mx.example.com
mydomain = example.com
myorigin = \$mydomain
mydestination = \$myhostname, localhost, example.com
virtual_alias_domains = alias.example
virtual_alias_maps = texthash:$HK_C/virtual
recipient_canonical_maps = texthash:$HK_C/canonical
sender_canonical_maps = inline:{ {root@example.com=postmaster@example.com} }
transport_maps = texthash:$HK_C/transport
relocated_maps = texthash:$HK_C/relocated
virtual_mailbox_domains = vmail.example
virtual_transport = lmtp:unix:private/dovecot-lmtp
alias_maps = texthash:$HK_C/aliases
relayhost = [smarthost.example.net]:587
masquerade_domains = example.com
masquerade_classes = envelope_sender
EOF
cat >"$HK_C/master.cf" <<'EOF'
smtp      inet  n       -       y       -       -       smtpd
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       y       -       -       lmtp
error     unix  -       -       y       -       -       error
EOF
printf 'info@alias.example  alice@example.com, bob@remote.example\nsales@example.com   carol@vmail.example\n' >"$HK_C/virtual"
printf 'old@example.com     newname@example.com\n' >"$HK_C/canonical"
printf 'remote.example   smtp:[mx.remote.example]:25\n' >"$HK_C/transport"
printf 'gone@example.com   gone@elsewhere.example\n' >"$HK_C/relocated"
printf 'newname   alice\n' >"$HK_C/aliases"

# hk_explain NAME PYTHON-EXPR ARGS... - explain address ARGS as JSON; the
# expression (over d, the parsed JSON, and steps(list)) must be true.
hk_explain() {
    local name=$1 expr=$2; shift 2
    "$HK_BIN" explain address "$@" -c "$HK_C" --format json >"$HK_T/explain.json" 2>"$HK_T/explain.err"
    hk_case "explain/$name" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
r=d["recipients"]
def step(steps, word): return [s for s in steps if word in s["step"]][0]
def hit(s, param): return [l for l in s["lookups"] if l["parameter"]==param and l["result"] is not None]
ok=eval(sys.argv[2])
if not ok: print(json.dumps(d, indent=1))
sys.exit(0 if ok else 1)' "$HK_T/explain.json" "$expr"
}

hk_explain virtual-expansion 'step(d["steps"],"virtual_alias_maps")["result"]=="alice@example.com, bob@remote.example" and hit(step(d["steps"],"virtual_alias_maps"),"virtual_alias_maps")[0]["key"]=="info@alias.example"' info@alias.example
hk_explain two-paths '[(x["recipient"],x["transport"],x["nexthop"],x["class"]) for x in r]==[("alice@example.com","local","mx.example.com","local"),("bob@remote.example","smtp","[mx.remote.example]:25","default (remote)")]' info@alias.example
hk_explain transport-map-step 'hit(step(r[1]["steps"],"transport and next hop"),"transport_maps")[0]["key"]=="remote.example" and "transport_maps" in step(r[1]["steps"],"transport and next hop")["note"]' info@alias.example
hk_explain canonical 'step(d["steps"],"recipient_canonical_maps")["result"]=="newname@example.com" and r[0]["recipient"]=="newname@example.com"' old@example.com
hk_explain alias-lookup 'hit(step(r[0]["steps"],"delivery agent"),"alias_maps")[0]["key"]=="newname" and "local(8)" in step(r[0]["steps"],"delivery agent")["result"]' old@example.com
hk_explain bare-user-gets-myorigin 'step(d["steps"],"canonical form")["result"]=="someone@example.com"' someone
hk_explain relocated 'r[0]["transport"]=="error" and "moved to gone@elsewhere.example" in r[0]["nexthop"]' gone@example.com
hk_explain virtual-mailbox-lmtp 'r[0]["recipient"]=="carol@vmail.example" and r[0]["class"]=="virtual mailbox" and r[0]["transport"]=="lmtp" and r[0]["nexthop"]=="unix:private/dovecot-lmtp"' sales@example.com
hk_explain unknown-virtual-alias 'r[0]["class"]=="virtual alias" and r[0]["transport"]=="error"' nobody@alias.example
hk_explain relayhost 'r[0]["transport"]=="smtp" and r[0]["nexthop"]=="[smarthost.example.net]:587" and "relayhost" in step(r[0]["steps"],"transport and next hop")["note"]' user@other.example
hk_explain sender-canonical-and-masquerade '[s["result"] for s in d["sender_steps"]]==["root@example.com","postmaster@example.com","postmaster@example.com"]' user@other.example --sender root
hk_explain sender-masquerade '[s["result"] for s in d["sender_steps"]][-1]=="joe@example.com"' user@other.example --sender joe@host.example.com
"$HK_BIN" explain address info@alias.example -c "$HK_C" >"$HK_T/explain.txt" 2>&1
hk_case explain/text grep -q '^  bob@remote.example -> smtp:\[mx.remote.example\]:25 (default (remote))$' "$HK_T/explain.txt"
# explain smtp: smtpd's restriction engine on a simulated session, with
# the service's -o overrides; no DNS or policy traffic (--no-external).
{
    echo "mynetworks = 127.0.0.0/8"
    echo "smtpd_recipient_restrictions = permit_mynetworks, check_recipient_access texthash:$HK_C/access, reject"
} >>"$HK_C/main.cf"
printf 'blocked@example.com REJECT no thanks\nwelcome@remote.example OK\n' >"$HK_C/access"
printf 'submission inet n - y - - smtpd -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n' >>"$HK_C/master.cf"
printf '2599 inet n - y - - smtpd -o smtpd_recipient_restrictions=check_policy_service,inet:127.0.0.1:9,reject\n' >>"$HK_C/master.cf"
# hk_smtp NAME PYTHON-EXPR ARGS... - explain smtp ARGS as JSON; the
# expression over d (the JSON), stage(word) and events(stage) must be true.
hk_smtp() {
    local name=$1 expr=$2; shift 2
    "$HK_BIN" explain smtp -c "$HK_C" --no-external --format json "$@" >"$HK_T/smtp.json" 2>"$HK_T/smtp.err"
    hk_case "explain-smtp/$name" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
def stage(word): return [s for s in d["stages"] if word in s["stage"]][0]
def events(st): return [(e["kind"], e["text"], e["outcome"]) for l in st["lists"] for e in l["events"]]
ok=eval(sys.argv[2])
if not ok: print(json.dumps(d, indent=1))
sys.exit(0 if ok else 1)' "$HK_T/smtp.json" "$expr"
}
hk_smtp access-reject 'stage("blocked")["reply"]=="554 5.7.1 <blocked@example.com>: Recipient address rejected: no thanks" and ("lookup", "texthash:'"$HK_C"'/access key \"blocked@example.com\"", "REJECT no thanks") in events(stage("blocked"))' --client 192.0.2.1,mail.client.example --helo mail.client.example --from a@b.example --to blocked@example.com
hk_smtp access-ok 'stage("welcome")["reply"] is None and d["result"].startswith("accepted for 1 of 1")' --client 192.0.2.1,mail.client.example --helo mail.client.example --from a@b.example --to welcome@remote.example
hk_smtp mynetworks 'events(stage("RCPT"))[0]==("restriction","permit_mynetworks","OK")' --client 127.0.0.1 --helo localhost --from a@b.example --to anyone@remote.example
hk_smtp default-reject 'stage("RCPT")["reply"].startswith("554 5.7.1 <x@remote.example>") and [e for e in events(stage("RCPT")) if e[0]=="restriction"][-1][1]=="reject"' --client 192.0.2.1,mail.client.example --helo mail.client.example --from a@b.example --to x@remote.example
hk_smtp service-override 'd["service"]=="submission/inet" and [e[1] for e in events(stage("RCPT")) if e[0]=="restriction"]==["permit_sasl_authenticated","reject"]' --service submission --client 192.0.2.1 --helo h.example --from a@b.example --to x@remote.example
# --no-external: the policy request is shown, not sent, and the list goes on.
hk_smtp policy-offline '(P:=[e for e in events(stage("RCPT")) if e[0]=="policy"]) and P[0][2]=="(not sent: --no-external)" and "request=smtpd_access_policy" in P[0][1] and "recipient=x@remote.example" in P[0][1] and [e for e in events(stage("RCPT")) if e[0]=="restriction"][-1][1]=="reject"' --service 2599 --client 192.0.2.1 --helo h.example --from a@b.example --to x@remote.example
hk_smtp sasl-permits 'stage("RCPT")["reply"] is None' --service submission --sasl alice --client 192.0.2.1 --helo h.example --from a@b.example --to x@remote.example
