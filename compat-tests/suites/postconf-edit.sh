# postconf-edit.sh - postconf as an editor: -e, -X, -# on main.cf and
# -Me, -MX, -M#, -Fe, -Pe, -PX on master.cf. Each case copies the same
# input into two configuration directories, runs the reference on one
# and ours on the other, then compares stdout, stderr, exit status and
# the resulting directories (file names, modes and bytes). Sourced by
# run-all.sh.

corpus=${COMPAT_CORPUS:-/work/shared/compat-corpus}

# New main.cf names are appended in hash-table order, which the
# reference randomizes per process unless NORANDOMIZE is set.
export NORANDOMIZE=1

inputs="$COMPAT_TMP/edit-inputs"
mkdir -p "$inputs"

# dir_listing DIR - names and permission bits of the files in DIR.
dir_listing() {
    (cd "$1" && for f in * .[!.]*; do [ -e "$f" ] && stat -c '%n %a' "$f"; done) 2>/dev/null
}

# edit_case NAME MAIN MASTER ARGS... - run "postconf -c . ARGS" on two
# copies of MAIN and MASTER ("" = no such file) and compare everything.
edit_case() {
    local name=$1 main=$2 master=$3; shift 3
    case "$name" in *"${CASE_FILTER:-}"*) ;; *) return 0;; esac
    local d="$COMPAT_TMP/cases/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')"
    rm -rf "$d"; mkdir -p "$d/ref.conf" "$d/ours.conf"
    local side
    for side in ref ours; do
        [ -n "$main" ] && cp "$main" "$d/$side.conf/main.cf"
        [ -n "$master" ] && cp "$master" "$d/$side.conf/master.cf"
        CASE_CWD="$d/$side.conf" run_side "$side" "$d/$side" postconf -c . "$@"
    done
    local ok=1 f
    for f in stdout stderr status; do
        normalize "$d/ref/$f" | LC_ALL=C sort >"$d/ref/$f.n"
        normalize "$d/ours/$f" | LC_ALL=C sort >"$d/ours/$f.n"
        if ! cmp -s "$d/ref/$f.n" "$d/ours/$f.n"; then
            ok=0
            echo "FAIL $name ($f differs: $*)"
            diff -u "$d/ref/$f.n" "$d/ours/$f.n" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        fi
    done
    if [ "$(dir_listing "$d/ref.conf")" != "$(dir_listing "$d/ours.conf")" ]; then
        ok=0
        echo "FAIL $name (file names or modes differ: $*)"
        diff <(dir_listing "$d/ref.conf") <(dir_listing "$d/ours.conf") | sed 's/^/    /'
    fi
    for f in "$d/ref.conf"/*; do
        [ -f "$f" ] || continue
        if ! cmp -s "$f" "$d/ours.conf/${f##*/}"; then
            ok=0
            echo "FAIL $name (${f##*/} differs: $*)"
            diff -u "$f" "$d/ours.conf/${f##*/}" | sed -n "1,${DIFF_LINES:-15}p" | sed 's/^/    /'
        fi
    done
    record "$name" $ok
}

# --- main.cf ---------------------------------------------------------

m1="$inputs/main1.cf"
cat >"$m1" <<'EOF'
# Sample main.cf with comments, continuations and a duplicate.
myhostname = host.example.com

mydestination = $myhostname,
    localhost.$mydomain,
# a comment inside the value
    example.com
relayhost =
alias_maps = hash:/etc/aliases
	# indented comment
smtpd_banner=$myhostname ESMTP
mynetworks = 127.0.0.0/8
mydestination = duplicate
EOF
m2="$inputs/main2.cf"
printf 'myhostname = a\nrelayhost = b' >"$m2"

edit_case edit-e-new "$m1" "" -e 'inet_interfaces = all'
edit_case edit-e-existing "$m1" "" -e 'myhostname=mail.example.org'
edit_case edit-e-continued "$m1" "" -e 'mydestination = x'
edit_case edit-e-nospace "$m1" "" -e 'smtpd_banner = $myhostname hello'
edit_case edit-e-implicit "$m1" "" 'relayhost = [smtp.example.net]:587'
edit_case edit-e-several-new "$m1" "" -e a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13 n=14 o=15
edit_case edit-e-mixed "$m1" "" -e 'relayhost=r' 'newname = v' ' mynetworks =  10.0.0.0/8  '
edit_case edit-e-empty-value "$m1" "" -e 'relayhost='
edit_case edit-e-duplicate-arg "$m1" "" -e 'x=1' 'x=2'
edit_case edit-e-no-newline "$m2" "" -e 'new = value'
edit_case edit-e-empty-file "/dev/null" "" -e 'a = b'
edit_case edit-X "$m1" "" -X relayhost mynetworks
edit_case edit-X-continued "$m1" "" -X mydestination
edit_case edit-X-unknown "$m1" "" -X nosuchname
edit_case edit-hash "$m1" "" -# myhostname smtpd_banner
edit_case edit-hash-continued "$m1" "" -# mydestination
edit_case edit-e-missing-equals "$m1" "" -e 'a=1' 'b'
edit_case edit-X-with-value "$m1" "" -X a 'b=1'
edit_case edit-e-no-main "" "" -e 'a=1'

for cset in debian12-internet-site mailcow dms; do
    [ -f "$corpus/$cset/main.cf" ] || continue
    edit_case "edit-corpus-$cset-e" "$corpus/$cset/main.cf" "" -e 'myhostname = edited.example.com' 'smtpd_tls_security_level=encrypt' 'added_param = yes'
    edit_case "edit-corpus-$cset-X" "$corpus/$cset/main.cf" "" -X smtpd_recipient_restrictions smtpd_tls_cert_file
    edit_case "edit-corpus-$cset-hash" "$corpus/$cset/main.cf" "" -# smtpd_relay_restrictions mydestination
done

# --- master.cf -------------------------------------------------------

r="$inputs/master-ref.cf"
printf '%s\n' 'foo unix - n n - 0 other' 'bar unix - n n - 0 other' 'baz unix - n n - 0 other' >"$r"
r2="$inputs/master-ref2.cf"
printf '%s\n' 'foo unix - n n - 0 other' 'bar inet - n n 0 0 other' 'baz unix - n n 0 0 other' >"$r2"
r3="$inputs/master-ref3.cf"
printf '%s\n' 'foo unix - n n - 0 other' 'bar inet - n n 0 0 other' ' -o first' ' -o second' 'baz unix - n n 0 0 other' >"$r3"

# The reference's own edit tests (postconf/Makefile.in test41-test56).
edit_case edit-ref-test41 "" "$r" -P bar/unix/xxx=yyy bar/unix/aaa=bbb
edit_case edit-ref-test43 "" "$r" -F bar/unix/chroot=y bar/unix/command='aa -stuffobb=cc dd'
edit_case edit-ref-test44 "" "$r" -M bar/unix='xx inet - n n - 0 aa -stuffobb=cc dd'
edit_case edit-ref-test52 "" "$r2" -MX bar/inet foo/unix xxx/yyy
edit_case edit-ref-test53 "" "$r2" -M# bar/inet xxx/yyy
edit_case edit-ref-test54 "" "$r2" -M# bar/inet foo/unix
edit_case edit-ref-test55 "" "$r2" -M# bar/inet baz/unix
edit_case edit-ref-test56 "" "$r3" -M# bar/inet xxx/yyy
edit_case edit-MX-continued "" "$r3" -MX bar/inet

p="$inputs/master-params.cf"
cat >"$p" <<'EOF'
# master.cf with options
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
# comment inside the entry
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
pickup    unix  n       -       y       60      1       pickup
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
maildrop  unix  -       n       n       -       -       pipe
  flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
EOF
edit_case edit-Pe-replace "" "$p" -Pe submission/inet/smtpd_tls_security_level=may
edit_case edit-Pe-add "" "$p" -Pe smtp/inet/smtpd_tls_security_level=may
edit_case edit-Pe-add-several "" "$p" -Pe submission/inet/a=1 submission/inet/b=2 relay/unix/c=3
edit_case edit-Pe-before-args "" "$p" -Pe maildrop/unix/x=y
edit_case edit-Pe-wildcard-service "" "$p" -Pe '*/unix/syslog_name=postfix/any'
edit_case edit-Pe-unmatched "" "$p" -Pe nosuch/unix/a=b
edit_case edit-PX "" "$p" -PX submission/inet/smtpd_sasl_auth_enable relay/unix/syslog_name
edit_case edit-PX-absent "" "$p" -PX smtp/inet/nosuch
edit_case edit-Fe-chroot "" "$p" -Fe pickup/unix/chroot=n
edit_case edit-Fe-command "" "$p" -Fe 'submission/inet/command=smtpd -o syslog_name=x -o { a = b c }'
edit_case edit-Fe-wakeup "" "$p" -Fe pickup/unix/wakeup=120 pickup/unix/process_limit=2
edit_case edit-Me-replace "" "$p" -Me 'relay/unix=relay unix - - n - - smtp -o smtp_fallback_relay='
edit_case edit-Me-add "" "$p" -Me 'smtps/inet=smtps inet n - y - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes'
edit_case edit-Me-rename "" "$p" -Me 'pickup/unix=pickup fifo n - y 60 1 pickup'
edit_case edit-Me-braces "" "$p" -Me 'x/unix=x unix - n n - - pipe flags=R { argv = a b } -o { a = b c }'
edit_case edit-M-hash "" "$p" -M# submission/inet maildrop/unix
edit_case edit-MX "" "$p" -MX submission/inet relay/unix
edit_case edit-Fe-bad-value "" "$p" -Fe 'pickup/unix/chroot=x'
edit_case edit-Pe-whitespace "" "$p" -Pe 'smtp/inet/a=b c'

for cset in "$corpus"/*/; do
    [ -f "$cset/master.cf" ] || continue
    cname=$(basename "$cset")
    edit_case "edit-corpus-$cname-Pe" "" "$cset/master.cf" -Pe 'smtp/inet/smtpd_tls_security_level=may' 'submission/inet/syslog_name=postfix/sub'
    edit_case "edit-corpus-$cname-Mhash" "" "$cset/master.cf" -M# smtp/inet 'pickup/*'
done

# Corner cases: trailing blanks stay part of a name (so it matches
# nothing), an empty field value passes the checks, bytes that are not
# UTF-8 survive, and byte widths (not characters) decide folding.
edit_case edit-X-trailing-blank "$m1" "" -X 'relayhost ' ' mynetworks'
edit_case edit-MX-trailing-blank "" "$p" -MX 'relay/unix ' ' pickup/unix'
edit_case edit-Fe-empty-field "" "$p" -Fe pickup/unix/chroot=
l1="$inputs/latin1.cf"
printf 'a = caf\351\nb = 1\n' >"$l1"
edit_case edit-e-latin1 "$l1" "" -e 'b=new' 'c=ö'
u1="$inputs/utf8-master.cf"
printf 'foo unix - n n - 0 other -o a=\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyyyyyyyyyyyyyyyyyyy zzzzzzzzzzzzzz\n' >"$u1"
edit_case edit-Pe-utf8-fold "" "$u1" -Pe foo/unix/b=c
edit_case edit-Me-twice "" "$p" -Me 'relay/unix=relay unix - - n - - smtp' 'relay/unix=relay unix - - y - - smtp -o x=y'
