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
