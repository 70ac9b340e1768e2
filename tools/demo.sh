#!/bin/sh
# demo.sh - show our postconf on a real-world configuration from the corpus.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$top/../shared/compat-corpus}
set_dir=$corpus/debian12-internet-site
[ -d "$set_dir" ] || set_dir=$top/compat-tests/data/debian12-internet-site
pc=$top/out/sbin/postconf
echo "== postconf -n on $(basename "$set_dir") (non-default settings)"
"$pc" -c "$set_dir" -n
echo
echo "== postconf -x smtpd_banner myhostname relay_domains (expanded)"
"$pc" -c "$set_dir" -x smtpd_banner myhostname relay_domains
echo
echo "== postconf -M (master.cf services, first lines)"
"$pc" -c "$set_dir" -M | head -8

# Lookup tables: build with our postmap, query with ours and the reference's.
sbin=$top/out/sbin
work=$(mktemp -d /tmp/demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
touch "$work/main.cf"
if [ -x "$sbin/postmap" ]; then
    cp "$corpus/dms/virtual" "$work/virtual"
    echo
    echo "== postmap lmdb:virtual (our build), then queries"
    "$sbin/postmap" -c "$work" lmdb:"$work/virtual"
    echo "ours:      $("$sbin/postmap" -c "$work" -q alias1@localhost.localdomain lmdb:"$work/virtual")"
    if [ -x /usr/sbin/postmap ]; then
        echo "reference: $(/usr/sbin/postmap -c "$work" -q alias1@localhost.localdomain lmdb:"$work/virtual")  (the same file, read by Postfix 3.7)"
    fi
    echo
    echo "== postmap -s lmdb:virtual (dump)"
    "$sbin/postmap" -c "$work" -s lmdb:"$work/virtual"
    echo
    echo "== regexp and cidr tables from the corpus"
    printf 'helo.example.com\nlocalhost\n' | "$sbin/postmap" -c "$work" -q - regexp:"$corpus/maps/ispconfig-blacklist_helo.regexp" || :
    "$sbin/postmap" -c "$work" -q 127.0.0.1 cidr:"$corpus/iredmail-debian12-mysql/postscreen_access.cidr" || :
fi
if [ -x "$sbin/postalias" ]; then
    cp "$corpus/debian12-internet-site/aliases" "$work/aliases"
    echo
    echo "== postalias lmdb:aliases, then postalias -q postmaster"
    "$sbin/postalias" -c "$work" lmdb:"$work/aliases"
    "$sbin/postalias" -c "$work" -q postmaster lmdb:"$work/aliases"
fi

# A running instance of our programs: submission into the queue.
echo
sh "$top/tools/demo-instance.sh"
