#!/bin/sh
# install-deps.sh - install what the build and the tests need on a fresh
# Debian machine: the reference Postfix 3.7 (never started: policy-rc.d
# blocks service start-up), its lmdb/pcre plug-ins and documentation,
# liblmdb0 (our LMDB tables), libpcre2-8-0 (pcre: tables), libsqlite3-0
# and libpq5 (sqlite:, pgsql:), PostgreSQL (a scratch server for the pgsql:
# tests, never started as a service), python3 (loopback test servers), dnsmasq-base (a loopback DNS server for the DNS and smtp tests).
# The SMTP-time hooks are tested against real programs: dovecot-core (SASL),
# dovecot-lmtpd (an LMTP server for lmtp(8) deliveries),
# postgrey and postfix-policyd-spf-python (policy service), opendkim and
# opendkim-tools (milter), spamass-milter, spamassassin, spamc and spamd
# (a second milter), swaks (SMTP dialogues); none runs as a service.
# Quick when everything is there already.
set -eu
need=
for p in postfix postfix-lmdb postfix-pcre postfix-doc liblmdb0 libpcre2-8-0 libsqlite3-0 libpq5 postgresql man-db strace dnsmasq-base dovecot-core dovecot-lmtpd postgrey postfix-policyd-spf-python opendkim opendkim-tools spamass-milter spamassassin spamc spamd swaks; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
command -v python3 >/dev/null 2>&1 || need="$need python3"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install:$need" >&2
    exit 1
fi
echo "install-deps: installing$need" >&2
# Keep the reference from starting: it is an oracle, not a service.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null
