# postconf.sh - postconf(1) main.cf side, ours against the reference:
# generated configurations (random parameters, nested
# and conditional expansions, continuation lines, overrides, unused and
# undefined names), and option errors. The corpus configurations are
# compared by compat-tests/run (suites/compat-run.sh).
CORPUS=${CORPUS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared/compat-corpus}

pc_corpus_set() {
    local set=$1 name d params
    name=$(basename "$set")
    d=$(mktemp -d "$COMPAT_TMP/pc.XXXXXX")
    cp "$set/main.cf" "$d/main.cf"
    [ -f "$set/master.cf" ] && cp "$set/master.cf" "$d/master.cf"
    compare "postconf/$name/-n" postconf -c "$d" -n
    compare "postconf/$name/-nx" postconf -c "$d" -nx
    compare "postconf/$name/-nf" postconf -c "$d" -nf
    compare "postconf/$name/-d" postconf -c "$d" -d
    compare "postconf/$name/all" postconf -c "$d"
    compare "postconf/$name/-x" postconf -c "$d" -x
    compare "postconf/$name/-C-user" postconf -c "$d" -C user -n
    compare "postconf/$name/-C-service" postconf -c "$d" -C service
    params=$("$REF_SBIN/postconf" -c "$d" -nH 2>/dev/null | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -n "$params" ] && compare "postconf/$name/-h-set" postconf -c "$d" -h $params
    # shellcheck disable=SC2086
    [ -n "$params" ] && compare "postconf/$name/-hx-set" postconf -c "$d" -hx $params
    compare "postconf/$name/-H" postconf -c "$d" -H
}

# The corpus sets themselves go through compat-tests/run (the same views
# and more: suites/compat-run.sh); PC_CORPUS=1 runs this loop as well.
if [ -n "${PC_CORPUS:-}" ] && [ -d "$CORPUS" ]; then
    for set in "$CORPUS"/*/; do
        [ -f "$set/main.cf" ] && pc_corpus_set "${set%/}"
    done
fi

# Generated configurations.
pc_gen() {
    local name=$1; shift
    local d
    d=$(new_confdir)
    printf '%s\n' "$@" >"$d/main.cf"
    cp /etc/postfix/master.cf "$d/master.cf" 2>/dev/null || :
    compare "postconf/gen/$name/-n" postconf -c "$d" -n
    compare "postconf/gen/$name/-nx" postconf -c "$d" -nx
    compare "postconf/gen/$name/-x" postconf -c "$d" -x
}

pc_gen continuation 'myhostname = mail.example.com' 'mydestination = $myhostname,' '    localhost.$mydomain,' '# comment inside' '	localhost' 'relay_domains =' '  example.org'
pc_gen conditional 'compatibility_level = 3.6' 'foo_limit = 10' 'smtpd_banner = ${foo_limit?{has $foo_limit}:{none}} ESMTP' 'bar = ${undefined_thing:fallback} ${foo_limit:x}' 'smtpd_client_restrictions = $bar'
pc_gen relational 'compatibility_level = 2' 'x1 = ${{$compatibility_level} <level {3.6} ? {old} : {new}}' 'x2 = ${{$compatibility_level} == {2} ? {two}:{other}}' 'smtpd_helo_restrictions = $x1 $x2'
pc_gen nested 'a1 = $b1' 'b1 = ${c1}x' 'c1 = $(d1)y' 'd1 = z' 'mynetworks = $a1'
pc_gen unused 'foo = bar' 'baz = $qux' 'smtpd_restriction_classes = class1, class2' 'class1 = permit' 'class3 = reject'
pc_gen readonly 'process_id = 12' 'process_name = x' 'mail_version = 1' 'service_name = y'
pc_gen legacy 'virtual_maps = hash:/etc/postfix/virtual' 'fallback_relay = [relay.example]' 'authorized_verp_clients = 127.0.0.1'
pc_gen dbms 'virtual_alias_maps = mysql:foo, ldap:bar, proxy:pgsql:baz' 'foo_hosts = db' 'foo_user = u' 'bar_server_host = ldap' 'baz_query = SELECT 1' 'foo_unknown = 1'
pc_gen overriding 'myhostname = a.example' 'myhostname = b.example' 'mydomain = example.net'
pc_gen whitespace 'smtpd_banner   =    $myhostname    ESMTP   x' 'empty =' 'alias_maps=hash:/etc/aliases'
pc_gen compat0 'compatibility_level = 0'
pc_gen compat36 'compatibility_level = 3.6' 'inet_protocols = ipv4'
pc_gen mynetworks-host 'mynetworks_style = host'
pc_gen mynetworks-class 'mynetworks_style = class' 'inet_protocols = ipv4'
pc_gen hostname-only 'myhostname = host'
pc_gen domain-set 'mydomain = example.com'
pc_gen dollar-dollar 'x = $$notexpanded' 'relayhost = $x'
pc_gen raw-values 'mailbox_command = /usr/bin/procmail -a "$EXTENSION"' 'smtpd_reject_footer = \c$myhostname'

# Random parameter sets: built-in names with random values, some
# referencing each other.
pc_random() {
    local seed=$1 d
    d=$(new_confdir)
    cp /etc/postfix/master.cf "$d/master.cf" 2>/dev/null || :
    awk -v seed="$seed" 'BEGIN { srand(seed) }
        !/^#/ { n[++c] = $1 }
        END {
            for (i = 0; i < 25; i++) {
                k = n[int(rand() * c) + 1]
                r = rand()
                if (r < 0.3) v = "value" int(rand() * 100)
                else if (r < 0.5) v = "$" n[int(rand() * c) + 1]
                else if (r < 0.6) v = "${" n[int(rand() * c) + 1] "?{yes}:{no}}"
                else if (r < 0.7) v = "$user_param" i
                else if (r < 0.8) { v = "a,\n    b, c"; }
                else v = int(rand() * 1000) "s"
                print k " = " v
                if (rand() < 0.3) print "user_param" i " = u" i
            }
        }' "$(dirname "$CORPUS")/spec/params-3.7.txt" >"$d/main.cf"
    compare "postconf/random/$seed/-n" postconf -c "$d" -n
    compare "postconf/random/$seed/-nx" postconf -c "$d" -nx
}
for seed in 1 2 3 4 5 6 7 8; do pc_random $seed; done

# Overrides, classes, named parameters, folding.
d=$(new_confdir)
printf 'myhostname = mail.example.com\nsmtpd_banner = $myhostname ESMTP $mail_name ($mail_version) and a rather long tail of words to fold past eighty columns\n' >"$d/main.cf"
cp /etc/postfix/master.cf "$d/master.cf" 2>/dev/null || :
compare "postconf/opt/-o" postconf -c "$d" -o myhostname=other.example -x smtpd_banner myhostname
compare "postconf/opt/-xo-n" postconf -c "$d" -n -o mydomain=x.example
compare "postconf/opt/-f" postconf -c "$d" -f smtpd_banner
compare "postconf/opt/-fx" postconf -c "$d" -fx smtpd_banner
compare "postconf/opt/-h" postconf -c "$d" -h mail_version myhostname nosuchparam
compare "postconf/opt/-H" postconf -c "$d" -H myhostname smtpd_banner
compare "postconf/opt/-dh" postconf -c "$d" -dh myhostname mydomain mynetworks relay_domains
compare "postconf/opt/-C-builtin" postconf -c "$d" -C builtin -n
compare "postconf/opt/-C-all" postconf -c "$d" -C all,user mail_version
compare "postconf/opt/--" postconf -c "$d" -- -n
compare "postconf/opt/-l" postconf -c "$d" -l
compare "postconf/opt/-Tpk" postconf -c "$d" -T public-key-algorithms
MAIL_CONFIG="$d" compare "postconf/opt/MAIL_CONFIG" postconf -n

# Errors (each costs the reference's one-second fatal pause).
compare "postconf/err/bad-option" postconf -c "$d" -Z
compare "postconf/err/missing-arg" postconf -c
compare "postconf/err/-d-n" postconf -c "$d" -d -n
compare "postconf/err/-M-n" postconf -c "$d" -M -n
compare "postconf/err/-a-A" postconf -a -A
compare "postconf/err/-C" postconf -c "$d" -C bogus
compare "postconf/err/-T" postconf -c "$d" -T bogus
compare "postconf/err/no-main.cf" postconf -c "$COMPAT_TMP/nonexistent" -n
compare "postconf/err/-e-noarg" postconf -c "$d" -e
compare "postconf/err/bad-override" postconf -c "$d" -o novalue -n
b=$(new_confdir)
printf 'good = 1\n  = novalue\n' >"$b/main.cf"
compare "postconf/err/bad-line" postconf -c "$b" -n
printf 'x = ${foo\n' >"$b/main.cf"
compare "postconf/err/bad-macro" postconf -c "$b" -x x
printf '   leading = ws\nx = 1\n' >"$b/main.cf"
compare "postconf/err/leading-ws" postconf -c "$b" -n
