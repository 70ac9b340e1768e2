# postconf-templates.sh - bounce message templates: postconf -t (dump) and
# -b (expand), with the built-in templates, template files (good, partial,
# malformed), main.cf settings that change expansions, every corpus
# main.cf, and the command-line errors. Sourced by run-all.sh.
#
# Fatal cases cost a second on each side (msg_fatal sleeps): keep them few.

corpus=${COMPAT_CORPUS:-/work/shared/compat-corpus}

# tpl DIR NAME - write stdin to DIR/NAME (a template file), print its path.
tpl() {
    cat >"$1/$2"
    echo "$1/$2"
}

# both NAME ARGS... - compare "postconf ARGS -t" and "postconf ARGS -b".
both() {
    local name=$1; shift
    compare "$name-t" postconf "$@" -t "${TPL_FILE-}"
    compare "$name-b" postconf "$@" -b "${TPL_FILE-}"
}

# Built-in templates, with and without a main.cf that changes them.
d=$(new_confdir)
TPL_FILE= both tpl-builtin -c "$d"

d=$(new_confdir)
printf '%s\n' 'myhostname = mail.example.com' 'delay_warning_time = 4h' \
    'maximal_queue_lifetime = 2w' 'mail_name = Zorkmail' >"$d/main.cf"
TPL_FILE= both tpl-builtin-settings -c "$d"

d=$(new_confdir)
printf '%s\n' 'compatibility_level = 3.6' 'myhostname = MX.Example.COM' \
    'header_from_format = obsolete' >"$d/main.cf"
TPL_FILE= both tpl-builtin-utf8-obsolete -c "$d"

d=$(new_confdir)
printf '%s\n' 'compatibility_level = 3.6' 'myhostname = mx.xn--bcher-kva.example' >"$d/main.cf"
TPL_FILE= both tpl-builtin-idna -c "$d"

d=$(new_confdir)
printf '%s\n' 'compatibility_level = 3.6' 'myhostname = mx.xn--zz.example' >"$d/main.cf"
TPL_FILE= both tpl-builtin-idna-bad -c "$d"

d=$(new_confdir)
printf '%s\n' 'myhostname = host.example' 'smtputf8_enable = yes' 'mydomain = Example.NET' >"$d/main.cf"
TPL_FILE= both tpl-builtin-smtputf8-yes -c "$d"

d=$(new_confdir)
printf '%s\n' 'syslog_name = zork' 'delay_warning_time = 90m' 'maximal_queue_lifetime = 1h' >"$d/main.cf"
TPL_FILE= both tpl-builtin-zero-results -c "$d"

for v in 4 5000s 1d h 3hx 0; do
    d=$(new_confdir)
    echo "delay_warning_time = $v" >"$d/main.cf"
    compare "tpl-delay-warning-time-$v" postconf -c "$d" -b ''
done
for v in 2w 100d 36h; do
    d=$(new_confdir)
    echo "maximal_queue_lifetime = $v" >"$d/main.cf"
    compare "tpl-max-queue-lifetime-$v" postconf -c "$d" -b ''
done

# bounce_template_file in main.cf: used without a file argument, not with ''.
d=$(new_confdir)
f=$(tpl "$d" main.tpl <<'TPL'
failure_template = <<EOF
Subject: Returned mail from $myhostname

Your mail could not be delivered; ask $bounce_notice_recipient.
EOF
TPL
)
echo "bounce_template_file = $f" >"$d/main.cf"
compare tpl-maincf-file-t postconf -c "$d" -t
compare tpl-maincf-file-b postconf -c "$d" -b
compare tpl-maincf-file-empty-arg postconf -c "$d" -b ''
echo "bounce_template_file = \$config_directory/main.tpl" >"$d/main.cf"
compare tpl-maincf-file-expanded postconf -c "$d" -b

# A full template file: every template, charsets, headers, $names.
d=$(new_confdir)
printf '%s\n' 'myhostname = mail.example.org' 'delay_warning_time = 2h' >"$d/main.cf"
f=$(tpl "$d" full.tpl <<'TPL'
# Comments and blank lines are ignored between templates.

failure_template = <<EOF
Charset: us-ascii
From: MAILER-DAEMON (Mail Delivery System at $myhostname)
Subject: Undelivered Mail Returned to Sender
Postmaster-Subject: Postmaster Copy: Undelivered Mail

This is the mail system at host $myhostname ($mail_name $mail_version).

Your message could not be delivered. Contact <postmaster@$mydomain>.
${soft_bounce?{Soft bounce is on.}:{Soft bounce is off.}}
${{$delay_warning_time_hours} == {2}?{two hours}:{other}}

                   The mail system
EOF

  delay_template = << END
Subject: Delayed Mail

Delayed for $delay_warning_time_minutes minutes ($delay_warning_time_seconds seconds).
Lifetime: $maximal_queue_lifetime_days days, $maximal_queue_lifetime_weeks weeks, $maximal_queue_lifetime_hours hours.
END

success_template = <<EOF
Subject: Delivered

Delivered, queue $queue_directory, service $service_name, process $process_name.
Config $config_directory, owner $mail_owner, origin $myorigin.
EOF

verify_template = <<EOF
Charset: UTF-8
Subject: Verified

Bjørn says: the address was verified at $myhostname.	Tab here.
EOF
TPL
)
TPL_FILE=$f both tpl-full -c "$d"

# Partial files override only the templates they name.
d=$(new_confdir)
f=$(tpl "$d" delay.tpl <<'TPL'
delay_template = <<EOF
Still trying for $delay_warning_time_hours hours.
EOF
TPL
)
TPL_FILE=$f both tpl-partial-delay -c "$d"
f=$(tpl "$d" single.tpl <<'TPL'
verify_template = one-line template for $myhostname
success_template = <<EOF
first
EOF
success_template = <<EOF
second definition wins
EOF
TPL
)
TPL_FILE=$f both tpl-partial-redefine -c "$d"

# A relative file name is relative to the current directory.
d=$(new_confdir)
tpl "$d" rel.tpl >/dev/null <<'TPL'
failure_template = <<EOF
relative
EOF
TPL
CASE_CWD=$d compare tpl-relative-b postconf -c "$d" -b rel.tpl
CASE_CWD=$d compare tpl-relative-t postconf -c "$d" -t ./rel.tpl

# Header problems: each template falls back to the built-in one.
d=$(new_confdir)
f=$(tpl "$d" headers.tpl <<'TPL'
failure_template = <<EOF
X-Custom: value

text
EOF
delay_template = <<EOF
Subject:

text
EOF
success_template = <<EOF
Postmaster-Subject: not for success

text
EOF
verify_template = <<EOF
Subject: only headers
EOF
TPL
)
TPL_FILE=$f both tpl-bad-headers -c "$d"
f=$(tpl "$d" headers2.tpl <<'TPL'
failure_template = <<EOF
subject:: two colons  
FROM  : spaced label
charset : iso-8859-1
postmaster-subject: lower case

text $myhostname
EOF
delay_template = <<EOF
Subject: a
	
Not: a header after the blank line

EOF
verify_template = <<EOF



EOF
TPL
)
TPL_FILE=$f both tpl-header-forms -c "$d"

# 8-bit text: needs a charset other than us-ascii; never in headers.
d=$(new_confdir)
f=$(tpl "$d" utf8.tpl <<'TPL'
failure_template = <<EOF
Subject: x

Zurückgeschickt von $myhostname.
EOF
delay_template = <<EOF
Charset: utf-8
Subject: Verzögert

text
EOF
success_template = <<EOF
Charset: utf-8

Zugestellt an $myhostname.
EOF
verify_template = <<EOF
Charset: US-ASCII

Geprüft.
EOF
TPL
)
TPL_FILE=$f both tpl-8bit -c "$d"
printf 'failure_template = <<EOF\nCharset: iso-8859-1\n\nLatin-1 caf\351 text\nEOF\n' >"$d/latin1.tpl"
TPL_FILE=$d/latin1.tpl both tpl-latin1 -c "$d"
printf '%s\n' 'mail_name = Pöstfix' 'compatibility_level = 3.6' >"$d/main.cf"
TPL_FILE=$d/utf8.tpl both tpl-8bit-utf8-values -c "$d"
printf '%s\n' 'mail_name = Pöstfix' >"$d/main.cf"
printf 'failure_template = <<EOF\nCharset: utf-8\n\n$mail_name\nEOF\n' >"$d/name.tpl"
compare tpl-8bit-value-not-utf8 postconf -c "$d" -b "$d/name.tpl"

# File syntax: unknown names, markers, missing end marker.
d=$(new_confdir)
f=$(tpl "$d" names.tpl <<'TPL'
bogus_template = <<EOF
ignored
EOF
failure = <<EOF
ignored too
EOF
Failure_template = value
failure_template = <<EOF
known
EOF
TPL
)
TPL_FILE=$f both tpl-unknown-names -c "$d"
printf 'failure_template = <<EOF\nSubject: x\n\nno end marker\n' >"$d/noend.tpl"
TPL_FILE=$d/noend.tpl both tpl-missing-eof -c "$d"
printf 'failure_template = <<STOP\ntext\n\nSTOP' >"$d/noeol.tpl"
TPL_FILE=$d/noeol.tpl both tpl-marker-at-eof -c "$d"
printf 'failure_template = <<EOF\nthis last line is much longer than the line with the marker\n' >"$d/stale.tpl"
compare tpl-missing-eof-stale-marker postconf -c "$d" -t "$d/stale.tpl"
printf 'failure_template = <<EOF\nEOF \n EOF\ntext\nEOF\n' >"$d/exact.tpl"
compare tpl-marker-exact-match postconf -c "$d" -t "$d/exact.tpl"
printf 'failure_template = <<EOF\r\ntext\r\nEOF\r\n' >"$d/crlf.tpl"
compare tpl-crlf postconf -c "$d" -t "$d/crlf.tpl"
: >"$d/empty.tpl"
TPL_FILE=$d/empty.tpl both tpl-empty-file -c "$d"
printf 'delay_template = <<EOF\nEOF\n' >"$d/emptytext.tpl"
compare tpl-empty-text postconf -c "$d" -t "$d/emptytext.tpl"

# Fatal errors while reading a template file.
printf 'failure_template <<EOF\n' >"$d/noequal.tpl"
compare tpl-fatal-no-equal postconf -c "$d" -t "$d/noequal.tpl"
printf '\n# x\nfailure_template = <<   \n' >"$d/nomarker.tpl"
compare tpl-fatal-no-marker postconf -c "$d" -b "$d/nomarker.tpl"
printf 'failure_template = <<-EOF\n' >"$d/badmarker.tpl"
compare tpl-fatal-bad-marker postconf -c "$d" -t "$d/badmarker.tpl"
compare tpl-fatal-missing-file postconf -c "$d" -t "$d/nonexistent.tpl"
compare tpl-fatal-directory postconf -c "$d" -b "$d"

# Fatal errors while expanding (-t does not expand: no error there).
printf 'delay_template = <<EOF\nX $no_such_parameter X\nEOF\n' >"$d/undef.tpl"
TPL_FILE=$d/undef.tpl both tpl-undefined-name -c "$d"
printf 'success_template = <<EOF\nline ${myhostname\nEOF\n' >"$d/syntax.tpl"
compare tpl-fatal-bad-syntax postconf -c "$d" -b "$d/syntax.tpl"
printf 'failure_template = <<EOF\n$delay_warning_time_fortnights\nEOF\n' >"$d/suffix.tpl"
compare tpl-fatal-bad-suffix postconf -c "$d" -b "$d/suffix.tpl"
printf 'failure_template = <<EOF\n$smtpd_banner $alias_maps\nEOF\n' >"$d/notread.tpl"
compare tpl-fatal-not-a-bounce-parameter postconf -c "$d" -b "$d/notread.tpl"
printf '%s\n' 'smtpd_banner = hello $myhostname' 'foo = $smtpd_helo_required/$biff' >"$d/main.cf"
printf 'failure_template = <<EOF\n$smtpd_banner; $foo; $delay_warning_time; $maximal_queue_lifetime\nEOF\n' >"$d/maincf.tpl"
compare tpl-maincf-only-names postconf -c "$d" -b "$d/maincf.tpl"

# Time unit conversions that are too large or too small.
d=$(new_confdir)
printf '%s\n' 'delay_warning_time = 30d' 'maximal_queue_lifetime = 90s' >"$d/main.cf"
printf 'failure_template = <<EOF\n$delay_warning_time_seconds $delay_warning_time_minutes $delay_warning_time_weeks\n$maximal_queue_lifetime_minutes $maximal_queue_lifetime_hours\nEOF\n' >"$d/units.tpl"
compare tpl-time-unit-warnings postconf -c "$d" -b "$d/units.tpl"

# Fatal settings in main.cf.
d=$(new_confdir)
echo 'delay_warning_time = soon' >"$d/main.cf"
compare tpl-fatal-bad-time postconf -c "$d" -t ''
echo 'header_from_format = fancy' >"$d/main.cf"
compare tpl-fatal-bad-hfrom-format postconf -c "$d" -b ''
echo 'smtputf8_enable = maybe' >"$d/main.cf"
compare tpl-fatal-bad-boolean postconf -c "$d" -b ''

# main.cf warnings come from postconf itself, once.
d=$(new_confdir)
printf '%s\n' 'myhostname = a.example' 'myhostname = b.example' >"$d/main.cf"
compare tpl-maincf-duplicate postconf -c "$d" -b ''

# Command-line errors.
d=$(new_confdir)
compare tpl-usage-b-and-t postconf -c "$d" -b -t
compare tpl-usage-two-files postconf -c "$d" -t a b
compare tpl-usage-with-o postconf -c "$d" -o myhostname=x.example -b ''

# Every corpus main.cf, with the built-in templates. Settings that name
# this host's users, directories, interfaces or files would make most of
# them fatal (a second each): they are left out, and tested once below.
for cset in "$corpus"/*/; do
    [ -f "$cset/main.cf" ] || continue
    cname=$(basename "$cset")
    c=$(new_confdir)
    grep -v -E '^[[:space:]]*(myorigin[[:space:]]*=[[:space:]]*/|(daemon|shlib|meta|command|queue|data)_directory[[:space:]]*=|mail_owner[[:space:]]*=|setgid_group[[:space:]]*=|inet_interfaces[[:space:]]*=)' \
        "$cset/main.cf" >"$c/main.cf"
    compare "tpl-corpus-$cname-b" postconf -c "$c" -b ''
done
d=$(new_confdir)
echo 'myorigin = /nonexistent/mailname' >"$d/main.cf"
compare tpl-params-myorigin-file postconf -c "$d" -b ''
echo 'mail_owner = no-such-user-here' >"$d/main.cf"
compare tpl-params-unknown-mail-owner postconf -c "$d" -b ''
echo 'setgid_group =' >"$d/main.cf"
compare tpl-params-empty-setgid-group postconf -c "$d" -b ''
echo 'daemon_directory = /nonexistent/libexec' >"$d/main.cf"
compare tpl-params-no-bounce-program postconf -c "$d" -b ''

# main.cf errors that postconf finds itself, as mail_conf_read() does.
d=$(new_confdir)
echo 'myhostname = bad..example' >"$d/main.cf"
compare tpl-params-bad-myhostname postconf -c "$d" -b ''
echo 'line_length_limit = 100' >"$d/main.cf"
compare tpl-params-int-too-small postconf -c "$d" -t ''
printf '%s\n' 'myorigin = a.example, b.example' >"$d/main.cf"
compare tpl-params-myorigin-list postconf -c "$d" -t ''

# Every parameter that a bounce process knows, as a template expands it.
names="2bounce_notice_recipient address_verify_negative_cache address_verify_service_name alias_database
alternate_config_directories application_event_drain_time backwards_bounce_logfile_compatibility
berkeley_db_create_buffer_size berkeley_db_read_buffer_size bounce_notice_recipient bounce_service_name
bounce_size_limit bounce_template_file cleanup_service_name command_directory compatibility_level
config_directory daemon_directory daemon_table_open_error_is_fatal daemon_timeout data_directory
debug_peer_level debug_peer_list default_database_type default_delivery_status_filter default_privs
default_process_limit default_verp_delimiters defer_service_name delay_logging_resolution_limit
delay_notice_recipient delay_warning_time deliver_lock_attempts deliver_lock_delay disable_dns_lookups
disable_mime_input_processing disable_mime_output_conversion dns_ncache_ttl_fix_enable dnssec_probe
dont_remove double_bounce_sender enable_idna2003_compatibility enable_long_queue_ids
enable_original_recipient enable_threaded_bounces error_service_name export_environment
fast_flush_domains fault_injection_code flush_service_name fork_attempts fork_delay hash_queue_depth
hash_queue_names header_address_token_limit header_from_format header_size_limit helpful_warnings
import_environment in_flow_delay inet_interfaces inet_protocols info_log_address_format
internal_mail_filter_classes ipc_idle ipc_timeout ipc_ttl known_tcp_ports line_length_limit
lmdb_map_size mail_name mail_owner mail_release_date mail_version maillog_file maillog_file_compressor
maillog_file_prefixes maillog_file_rotate_suffix max_idle max_use maximal_queue_lifetime
message_drop_headers message_size_limit meta_directory mime_boundary_length_limit mime_nesting_limit
multi_instance_directories multi_instance_enable multi_instance_group multi_instance_name
multi_instance_wrapper mydestination mydomain myhostname mynetworks mynetworks_style myorigin
notify_classes owner_request_special parent_domain_matches_subdomains pickup_service_name
postlog_service_name process_id_directory process_name proxy_interfaces proxymap_service_name
proxywrite_service_name queue_directory queue_service_name recipient_delimiter relay_domains relayhost
respectful_logging rewrite_service_name send_cyrus_sasl_authzid service_name setgid_group
shlib_directory showq_service_name smtputf8_autodetect_classes smtputf8_enable soft_bounce
stale_lock_time strict_7bit_headers strict_8bitmime strict_8bitmime_body strict_mime_encoding_domain
strict_smtputf8 syslog_facility syslog_name tcp_windowsize trace_service_name trigger_timeout
verp_delimiter_filter"
{
    echo 'verify_template = <<EOF'
    echo 'All parameters:'
    for p in $names; do echo "$p = \$$p"; done
    echo 'EOF'
} >"$COMPAT_TMP/all-params.tpl"
for cset in '' feministwiki mailu dms danwin-mail-hosting; do
    main=
    [ -n "$cset" ] && main=$corpus/$cset/main.cf
    [ -z "$cset" ] || [ -f "$main" ] || continue
    d=$(new_confdir "$main")
    cp "$COMPAT_TMP/all-params.tpl" "$d/all.tpl"
    compare "tpl-all-parameters-${cset:-empty}" postconf -c "$d" -b "$d/all.tpl"
done

# ACE labels that do not decode, and other UTS 46 errors.
for h in xn--abc.example ab--cd.example xn--ls8h.la; do
    d=$(new_confdir)
    printf '%s\n' 'compatibility_level = 3.6' "myhostname = $h" >"$d/main.cf"
    compare "tpl-idna-$h" postconf -c "$d" -b ''
done

# multi_instance_name gives the default syslog_name, hence the tag.
d=$(new_confdir)
echo 'multi_instance_name = postfix-out' >"$d/main.cf"
printf 'bogus_template = x\n' >"$d/bogus.tpl"
compare tpl-tag-multi-instance postconf -c "$d" -t "$d/bogus.tpl"

# Byte-level quirks of the reader: NUL bytes end a line's text; a last
# line without newline that ends in an 8-bit byte is not read at all.
d=$(new_confdir)
printf 'failure_template = <<EOF\nab\0cd\nEOF\n' >"$d/nul.tpl"
compare tpl-bytes-nul postconf -c "$d" -t "$d/nul.tpl"
printf 'failure_template = <<EOF\nCharset: utf-8\n\ntext\nEOF\ndelay_template = caf\303\251' >"$d/last8bit.tpl"
TPL_FILE=$d/last8bit.tpl both tpl-bytes-last-line-8bit -c "$d"
printf 'failure_template = <<EOF\n\303\251\nEOF\nverify_template = <<EOF\nCharset: x\n\nend \351' >"$d/unterminated8bit.tpl"
TPL_FILE=$d/unterminated8bit.tpl both tpl-bytes-unterminated-8bit -c "$d"
printf 'failure_template = <<EOF\nthis is the end of the line with a NUL\0 inside it and more\n' >"$d/nulmarker.tpl"
compare tpl-bytes-nul-stale-marker postconf -c "$d" -t "$d/nulmarker.tpl"
printf 'failure_template=<<EOF x\ntext\nEOF\nEOF x\n   delay_template   =   one line   \n' >"$d/spacing.tpl"
TPL_FILE=$d/spacing.tpl both tpl-spacing -c "$d"

# Warnings of mail_params_init() show twice: from postconf, then bounce(8).
d=$(new_confdir)
echo 'known_tcp_ports = lmtp=24, smtp = 25 , foo, 25=x, a b=3, smtp=26, =5, x=, x=1 2, , a=b=7' >"$d/main.cf"
compare tpl-params-known-tcp-ports postconf -c "$d" -b ''

# The sample file that comes with Postfix, and "postconf -t" output read
# back as a template file.
d=$(new_confdir)
if [ -f /usr/share/doc/postfix/examples/bounce.cf.default ]; then
    cp /usr/share/doc/postfix/examples/bounce.cf.default "$d/sample.tpl"
    TPL_FILE=$d/sample.tpl both tpl-postfix-sample -c "$d"
fi
"$REF_SBIN/postconf" -c "$d" -t '' >"$d/dumped.tpl" 2>/dev/null
TPL_FILE=$d/dumped.tpl both tpl-dump-read-back -c "$d"

# No main.cf: postconf's own fatal error.
d=$(new_confdir)
rm -f "$d/main.cf"
compare tpl-no-main-cf postconf -c "$d" -b ''

# Diagnostics show 8-bit text as '?' per byte, or as UTF-8 when
# smtputf8_enable is on (also in the macro expander's own warnings).
for mc in '' 'compatibility_level = 3.6'; do
    d=$(new_confdir)
    echo "$mc" >"$d/main.cf"
    printf 'fa\303\274lure_template = x\ndelay_template = <<EOF\nCharset: latin1\n\nZur\374ck\nEOF\n' >"$d/name.tpl"
    compare "tpl-diag-8bit-name${mc:+-utf8}" postconf -c "$d" -t "$d/name.tpl"
    printf 'failure_template = <<EOF\nCharset: utf-8\n\nZur\303\274ck ${nosuch\nEOF\n' >"$d/syntax.tpl"
    compare "tpl-diag-8bit-syntax${mc:+-utf8}" postconf -c "$d" -b "$d/syntax.tpl"
done
