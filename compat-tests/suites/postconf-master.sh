# postconf-master.sh - master.cf as postconf shows it: -M, -Mf, -Mx, -F,
# -P with their -h/-H/-f/-x variants and service/field/parameter patterns,
# over every master.cf of the corpus and over the reference's own test
# inputs (postconf/Makefile.in test9-test67). Sourced by run-all.sh.

corpus=${COMPAT_CORPUS:-/work/shared/compat-corpus}

# The reference walks hash tables in a per-process random order unless
# NORANDOMIZE is set (its own tests set it too).
export NORANDOMIZE=1

for cset in "$corpus"/*/; do
    [ -f "$cset/master.cf" ] || continue
    cname=$(basename "$cset")
    main=""
    [ -f "$cset/main.cf" ] && main="$cset/main.cf"
    c=$(new_confdir "$main" "$cset/master.cf")
    for opts in -M -Mf -F -P -Mx -Mfx -Px -Fh -FH -Ph -PH -Ffx; do
        compare "master-$cname$opts" postconf -c "$c" "$opts"
    done
    compare "master-$cname-M-patterns" postconf -c "$c" -M smtp/inet '*/unix' smtp bogus/xx
    compare "master-$cname-F-patterns" postconf -c "$c" -F 'smtp/*/command' '*/inet/chroot' '*/*/process_limit' pickup/fifo
    compare "master-$cname-P-patterns" postconf -c "$c" -P '*/*/syslog_name' 'submission/inet/*' smtp/inet/nosuch
    compare "master-$cname-Pfx-patterns" postconf -c "$c" -Pfx '*/*/smtpd_tls_security_level' '*/*/smtpd_recipient_restrictions'
done

# ref_dir NAME - fresh config dir with an empty main.cf and master.cf.
ref_dir() {
    local d
    d=$(new_confdir)
    : >"$d/master.cf"
    echo "$d"
}

d=$(ref_dir)
printf '%s\n' 'foo inet - n n - 0 spawn' 'bar unix - n n - 0 spawn' >"$d/master.cf"
compare master-ref-test9 postconf -c "$d" -M '*/inet'
compare master-ref-test10 postconf -c "$d" -M bar/inet foo/unix
compare master-ref-test11 postconf -c "$d" -M

d=$(ref_dir)
echo 'bar=yes' >"$d/main.cf"
printf '%s\n' 'foo inet - n n - 0 spawn' ' -o always_bcc=$bar -o' \
    'foo inet - n n - 0 spawn' ' -o always_bcc=$bar -o' >"$d/master.cf"
compare master-ref-test12 postconf -c "$d" -M
compare master-ref-test12-P postconf -c "$d" -P

d=$(ref_dir)
rm -f "$d/master.cf"
compare master-ref-test17-missing postconf -c "$d" -M

d=$(ref_dir)
printf '%s\n' 'foo inet - n n - 0 spawn' ' -o always_bcc=$bar$baz' >"$d/master.cf"
compare master-ref-test20 postconf -c "$d" -Mf

d=$(ref_dir)
printf '%s\n' 'xxx=yyy' 'aaa=bbb' >"$d/main.cf"
printf '%s\n' 'whatever unix - n n - 0 other' ' -o mydestination=$xxx' \
    ' -o always_bcc=$aaa' ' -o aaa=ccc' >"$d/master.cf"
compare master-ref-test37 postconf -c "$d" -Mfx
compare master-ref-test37-Px postconf -c "$d" -Px

d=$(ref_dir)
printf '%s\n' 'foo unix - n n - 0 other' 'bar inet - n n - 0 other' 'baz unix - n n - 0 other' >"$d/master.cf"
compare master-ref-test39 postconf -c "$d" -Mf '*/unix'
compare master-unmatched postconf -c "$d" -M bogus/xx
compare master-F-unmatched postconf -c "$d" -F bogus/unix/command
compare master-P-unmatched postconf -c "$d" -P 'foo/unix/*' foo/unix/x

d=$(ref_dir)
printf '%s\n' 'foo unix - n n - 0 other' ' -voaaa=bbb' ' -vo ccc=$aaa' ' -v -oddd=$ccc' >"$d/master.cf"
compare master-ref-test40 postconf -c "$d" -Mfx '*/unix'
compare master-ref-test40-M postconf -c "$d" -M
compare master-ref-test40-F postconf -c "$d" -F

for t in 45:'bar xxxx - n n - 0 other' 51:'bar inet - n n X? 0 other'; do
    d=$(ref_dir)
    printf '%s\n' 'foo unix - n n - 0 other' "${t#*:}" 'baz unix - n n - 0 other' >"$d/master.cf"
    compare "master-ref-test${t%%:*}" postconf -c "$d" -Mf
done

d=$(ref_dir)
printf '%s\n' 'foo unix - n n -? 0 other' 'bar inet - n n 10? 0 other' 'baz unix - y y 0 100 other' >"$d/master.cf"
compare master-wakeup-forms postconf -c "$d" -M

d=$(ref_dir)
printf '%s\n' 'foo unix - n n - 0 other' 'bar inet - n n 0 0 other' ' -o name1=value1' \
    ' -o { name2 = value2a value2b }' ' { arg1a arg1b }' ' { arg2a arg2b }x' ' { arg3a arg3b ' \
    'baz unix - n n 0 0 other' >"$d/master.cf"
compare master-ref-test59 postconf -c "$d" -Mf
compare master-ref-test59-F postconf -c "$d" -F
compare master-ref-test59-P postconf -c "$d" -P

d=$(ref_dir)
printf '%s\n' 'foo unix - n n - 0 other' ' -o always_bcc=bar' >"$d/master.cf"
compare master-ref-test60 postconf -c "$d" -Fh
compare master-ref-test61 postconf -c "$d" -Ph
compare master-ref-test62 postconf -c "$d" -FH
compare master-ref-test63 postconf -c "$d" -PH

d=$(ref_dir)
printf '%s\n' 'smtp inet n - n - - smtpd' ' -o test1_process_name=$process_name' \
    ' -o test1_service_name=$service_name' 'smtp unix n - n - - smtp' \
    ' -o test2_process_name=$process_name' ' -o test2_service_name=$service_name' \
    'relay unix n - n - - /usr/lib/postfix/smtp' ' -o test3=$process_name/$service_name' >"$d/master.cf"
compare master-ref-test67 postconf -c "$d" -xMf
compare master-ref-test67-P postconf -c "$d" -xP

# Layout: long values, folding of arguments, "--", braces. (A lone "-"
# option makes the reference read past the end of a string: not tested.)
d=$(ref_dir)
{
    echo 'averyveryverylongservicename unix - n n - 0 pipe flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient} ${extension} ${sender}'
    echo 'x unix - n n - - other -v -o a=b -- -o c=d {e f}'
    echo 'y	unix	-	-	y	-	-	smtpd -o smtpd_client_restrictions=permit_sasl_authenticated,reject_unauth_destination,reject_unknown_sender_domain,reject_non_fqdn_sender -o { smtpd_milters = inet:localhost:11332 inet:localhost:8891 }'
} >"$d/master.cf"
compare master-layout-M postconf -c "$d" -M
compare master-layout-Mf postconf -c "$d" -Mf
compare master-layout-F postconf -c "$d" -F
compare master-layout-Ff postconf -c "$d" -Ff
compare master-layout-P postconf -c "$d" -P
compare master-layout-Pf postconf -c "$d" -Pf

d=$(ref_dir)
printf '%s\n' 'foo unix - n n - 0' >"$d/master.cf"
compare master-bad-field-count postconf -c "$d" -M

d=$(ref_dir)
printf '%s\n' 'foo unix - n n - 0 other' >"$d/master.cf"
compare master-bad-field-name postconf -c "$d" -F foo/unix/bogus

# -Fh prints the command and the next word without a blank when the
# command is at most four bytes long, as the reference does.
d=$(ref_dir)
printf '%s\n' 'x unix - n n - - pipe flags=R user=x' 'y unix - n n - - smtp -o a=b' 'z unix - n n - - pipe -v -o a=b c' >"$d/master.cf"
compare master-Fh-short-command postconf -c "$d" -Fh '*/*/command'
compare master-Fhf-short-command postconf -c "$d" -Fhf

# Entries with the same service/type share one parameter table in the
# reference: -P lists the union, and $name expands to the last setting.
d=$(ref_dir)
printf '%s\n' 'foo unix - n n - 0 other -o a=1 -o c=$a' 'foo unix - n n - 0 other -o a=2 -o d=$a' >"$d/master.cf"
compare master-duplicate-namespace-P postconf -c "$d" -P
compare master-duplicate-namespace-Mx postconf -c "$d" -Mx

# Diagnostics show non-printable characters (tab, newline) as '?'.
d=$(ref_dir)
printf 'foo unix - n n - 0 other {a\tb\n  c\n' >"$d/master.cf"
compare master-warning-nonprintable postconf -c "$d" -M
