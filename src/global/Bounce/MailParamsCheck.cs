// NAME
//	MailParamsCheck - the checks mail_params_init() makes on main.cf
// POSTFIX
//	src/global/mail_params.c (mail_params_init), src/global/mail_conf_*.c,
//	src/util/valid_hostname.c
// DESCRIPTION
//	Every Postfix program that reads main.cf with mail_conf_read() (so
//	"postconf -b/-t" before it runs bounce(8)) converts the parameters
//	of mail_params_init() and dies on the first bad one: a string that
//	is too short, a bad number, boolean or time, a bad host name, an
//	unknown mail_owner, default_privs or setgid_group, and so on. The
//	tables below are in Postfix's order, so the first error is the same.
//	Kept here until a daemon needs it; then it belongs in global/Config.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Config;
using Postfix.Global.Params;
using Postfix.Util;

namespace Postfix.Global.Bounce;

public static class MailParamsCheck
{
    private static readonly (string Name, int Min, int Max)[] FirstStr =
    {
        ("mail_version", 1, 0), ("syslog_facility", 1, 0), ("inet_protocols", 0, 0), ("multi_instance_directories", 0, 0),
        ("multi_instance_group", 0, 0), ("multi_instance_name", 0, 0), ("maillog_file", 0, 0), ("maillog_file_prefixes", 1, 0),
        ("maillog_file_compressor", 1, 0), ("maillog_file_rotate_suffix", 1, 0), ("postlog_service_name", 1, 0),
        ("dnssec_probe", 0, 0), ("known_tcp_ports", 0, 0),
    };

    private static readonly string[] FirstBool = { "daemon_table_open_error_is_fatal", "dns_ncache_ttl_fix_enable" };

    private static readonly string[] FirstNbool = { "smtputf8_enable", "enable_idna2003_compatibility", "respectful_logging" };

    private static readonly (string Name, int Min, int Max)[] OtherStr =
    {
        ("mail_name", 1, 0), ("syslog_name", 1, 0), ("mail_owner", 1, 0), ("setgid_group", 1, 0), ("mydestination", 0, 0),
        ("myorigin", 1, 0), ("relayhost", 0, 0), ("daemon_directory", 1, 0), ("data_directory", 1, 0),
        ("command_directory", 1, 0), ("meta_directory", 1, 0), ("queue_directory", 1, 0), ("shlib_directory", 1, 0),
        ("process_id_directory", 1, 0), ("inet_interfaces", 0, 0), ("proxy_interfaces", 0, 0),
        ("double_bounce_sender", 1, 0), ("default_privs", 1, 0), ("alias_database", 0, 0), ("mail_release_date", 1, 0),
        ("default_database_type", 1, 0), ("hash_queue_names", 1, 0), ("recipient_delimiter", 0, 0),
        ("relay_domains", 0, 0), ("fast_flush_domains", 0, 0), ("export_environment", 0, 0),
        ("import_environment", 0, 0), ("mynetworks_style", 1, 0), ("debug_peer_list", 0, 0),
        ("default_verp_delimiters", 2, 2), ("verp_delimiter_filter", 1, 0), ("parent_domain_matches_subdomains", 0, 0),
        ("alternate_config_directories", 0, 0), ("bounce_service_name", 1, 0), ("cleanup_service_name", 1, 0),
        ("defer_service_name", 1, 0), ("pickup_service_name", 1, 0), ("queue_service_name", 1, 0),
        ("rewrite_service_name", 1, 0), ("showq_service_name", 1, 0), ("error_service_name", 1, 0),
        ("flush_service_name", 1, 0), ("address_verify_service_name", 1, 0), ("trace_service_name", 1, 0),
        ("proxymap_service_name", 1, 0), ("proxywrite_service_name", 1, 0), ("internal_mail_filter_classes", 0, 0),
        ("multi_instance_wrapper", 0, 0), ("default_delivery_status_filter", 0, 0),
        ("smtputf8_autodetect_classes", 1, 0), ("message_drop_headers", 0, 0), ("info_log_address_format", 1, 0),
    };

    private static readonly (string Name, int Min, int Max)[] OtherInt =
    {
        ("default_process_limit", 1, 0), ("max_use", 1, 0), ("dont_remove", 0, 0), ("line_length_limit", 512, 0),
        ("hash_queue_depth", 1, 0), ("fork_attempts", 1, 0), ("deliver_lock_attempts", 1, 0), ("debug_peer_level", 1, 0),
        ("fault_injection_code", 0, 0), ("berkeley_db_create_buffer_size", 1, 0), ("berkeley_db_read_buffer_size", 1, 0),
        ("header_size_limit", 1, 0), ("header_address_token_limit", 1, 0), ("mime_nesting_limit", 1, 0),
        ("mime_boundary_length_limit", 1, 0), ("delay_logging_resolution_limit", 0, 6), ("tcp_windowsize", 0, 0),
    };

    private static readonly (string Name, long Min, long Max)[] Long = { ("message_size_limit", 0, 0), ("lmdb_map_size", 1, 0) };

    private static readonly (string Name, int Min, int Max)[] TimeTable =
    {
        ("application_event_drain_time", 1, 0), ("max_idle", 1, 0), ("ipc_timeout", 1, 0), ("ipc_idle", 1, 0),
        ("ipc_ttl", 1, 0), ("trigger_timeout", 1, 0), ("fork_delay", 1, 0), ("deliver_lock_delay", 1, 0),
        ("stale_lock_time", 1, 0), ("daemon_timeout", 1, 0), ("in_flow_delay", 0, 10),
    };

    private static readonly string[] BoolTable =
    {
        "disable_dns_lookups", "soft_bounce", "owner_request_special", "strict_8bitmime", "strict_7bit_headers",
        "strict_8bitmime_body", "strict_mime_encoding_domain", "disable_mime_input_processing",
        "disable_mime_output_conversion", "address_verify_negative_cache", "backwards_bounce_logfile_compatibility",
        "helpful_warnings", "send_cyrus_sasl_authzid", "multi_instance_enable", "enable_long_queue_ids",
        "strict_smtputf8", "enable_original_recipient",
    };

    private static readonly string[] SyslogFacilities =
    {
        "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog", "user", "uucp",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    };

    // Run - mail_params_init() as far as it can fail; eval gives expanded values.
    public static void Run(MailConf conf, string configDir, Func<string, string> eval)
    {
        var main = configDir + "/" + MailConf.MainConfFile;
        CompatLevel.FromString(eval("compatibility_level"), t => Msg.Fatal(t));
        foreach (var (name, min, max) in FirstStr)
            Str(name, eval(name), min, max);
        var facility = eval("syslog_facility");
        if (Array.IndexOf(SyslogFacilities, facility) < 0)
            Msg.Fatal($"file {main}: parameter syslog_facility: unrecognized value: {facility}");
        foreach (var name in FirstBool)
            Bool(name, eval(name));
        foreach (var name in FirstNbool)
            Bool(name, eval(name));
        Msg.Utf8Enable = Bool("smtputf8_enable", eval("smtputf8_enable"));
        KnownTcpPorts(eval("known_tcp_ports"));
        var inetProtocols = eval("inet_protocols");
        foreach (var proto in inetProtocols.Split(NameMaskDelim, StringSplitOptions.RemoveEmptyEntries))
        {
            if (proto is not ("all" or "ipv6" or "ipv4"))
                Msg.Fatal($"unknown inet_protocols value \"{proto}\" in \"{inetProtocols}\"");
        }
        MyNetworks.Families(inetProtocols);

        var myhostname = eval("myhostname");
        Str("myhostname", myhostname, 1, 0);
        var mydomain = eval("mydomain");
        Str("mydomain", mydomain, 1, 0);
        if (!ValidHostname(myhostname, true))
            Msg.Fatal($"file {main}: parameter myhostname: bad parameter value: {myhostname}");
        if (!ValidHostname(mydomain, true))
            Msg.Fatal($"file {main}: parameter mydomain: bad parameter value: {mydomain}");

        foreach (var (name, min, max) in OtherStr)
            Str(name, eval(name), min, max);
        var myorigin = eval("myorigin");
        if (myorigin.StartsWith('/'))
        {
            // Debian's MYORIGIN_FROM_FILE: the first line of the file.
            var origin = ReadParamFromFile(myorigin);
            if (origin.Length == 0)
                Msg.Fatal($"myorigin file {myorigin} is empty");
            myorigin = origin;
        }
        foreach (var (name, min, max) in OtherInt)
            Int(name, eval(name), min, max);
        foreach (var (name, min, max) in Long)
            LongValue(name, eval(name), min, max);
        foreach (var name in BoolTable)
            Bool(name, eval(name));
        foreach (var (name, min, max) in TimeTable)
            Time(name, eval(name), min, max);

        var (defaultUid, defaultGid) = User(main, "default_privs", eval("default_privs"));
        var mailOwner = eval("mail_owner");
        var (ownerUid, ownerGid) = User(main, "mail_owner", mailOwner);
        var sgidGroup = eval("setgid_group");
        var sgidGid = Group(main, sgidGroup);
        var defaultPrivs = eval("default_privs");
        if (defaultPrivs == mailOwner)
            Msg.Fatal($"file {main}: parameters default_privs and mail_owner specify the same user {defaultPrivs}");
        if (defaultUid == ownerUid)
            Msg.Fatal($"file {main}: parameters default_privs and mail_owner: users {defaultPrivs} and {mailOwner} have the same user ID: {ownerUid}");
        if (defaultGid == ownerGid)
            Msg.Fatal($"file {main}: parameters default_privs and mail_owner: users {defaultPrivs} and {mailOwner} have the same group ID: {ownerGid}");
        if (defaultGid == sgidGid)
            Msg.Fatal($"file {main}: parameters default_privs and setgid_group: user {defaultPrivs} and group {sgidGroup} have the same group ID: {sgidGid}");
        if (ownerGid == sgidGid)
            Msg.Fatal($"file {main}: parameters mail_owner and setgid_group: user {mailOwner} and group {sgidGroup} have the same group ID: {sgidGid}");

        // mynetworks() (when not set) and own_inet_addr_list().
        var interfaces = eval("inet_interfaces");
        var protocols = eval("inet_protocols");
        var style = conf.LookupRaw("mynetworks") == null ? eval("mynetworks_style") : "host";
        MyNetworks.Compute(style, interfaces, protocols);

        var relayhost = eval("relayhost");
        if (string.Equals(myhostname, relayhost, StringComparison.OrdinalIgnoreCase))
            Msg.Fatal($"myhostname and relayhost parameter settings must not be identical: {myhostname}");
        if (myorigin.AsSpan().IndexOfAny(", \t\r\n") >= 0)
            Msg.Fatal($"myorigin parameter setting must not contain multiple values: {myorigin}");
        var verpErr = VerpDelimsVerify(eval("default_verp_delimiters"), eval("verp_delimiter_filter"));
        if (verpErr != null)
            Msg.Fatal($"file {main}: parameters default_verp_delimiters and verp_delimiter_filter: {verpErr}");
    }

    // KnownTcpPorts - config_known_tcp_ports(): warn about bad "name = port" entries.
    public static void KnownTcpPorts(string settings)
    {
        const string source = "known_tcp_ports";
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in settings.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var association = (" " + item + " ").Split('=');
            if (association.Length == 1)
            {
                Msg.Warn($"{source}: in \"{item}\" is not in \"name = value\" form");
                continue;
            }
            string? err = null;
            var rhs = Words(association[^1]);
            if (rhs.Length == 0)
            {
                err = "missing port value after \"=\"";
            }
            else if (rhs.Length > 1)
            {
                err = "whitespace in port number";
            }
            else
            {
                for (var n = 0; n < association.Length - 1; n++)
                {
                    var lhs = Words(association[n]);
                    string? newErr;
                    if (lhs.Length == 0)
                        newErr = "missing service name before \"=\"";
                    else if (lhs.Length > 1)
                        newErr = "whitespace in service name";
                    else if (AllDigits(lhs[0]))
                        newErr = "numerical service name";
                    else if (!AllDigits(rhs[0]))
                        newErr = "non-numerical service port";
                    else if (!known.Add(lhs[0]))
                        newErr = "duplicate service name";
                    else
                        newErr = null;
                    err ??= newErr;
                }
            }
            if (err != null)
                Msg.Warn($"{source}: in \"{item}\": {err}");
        }
    }

    // NAME_MASK_DEFAULT_DELIM
    private static readonly char[] NameMaskDelim = { ',', ' ', '\t', '\r', '\n' };

    // CHARS_SPACE
    private static readonly char[] Space = { ' ', '\t', '\r', '\n' };

    private static string[] Words(string s) => s.Split(Space, StringSplitOptions.RemoveEmptyEntries);

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
        {
            if (c is < '0' or > '9')
                return false;
        }
        return true;
    }

    // ValidHostname - valid_hostname(): RFC 1035 syntax, with warnings when gripe.
    public static bool ValidHostname(string name, bool gripe)
    {
        const string myname = "valid_hostname";
        if (name.Length == 0)
        {
            if (gripe)
                Msg.Warn($"{myname}: empty hostname");
            return false;
        }
        int labelLength = 0, labelCount = 0;
        var nonNumeric = false;
        var clipped = name.Length > 100 ? name[..100] : name;
        for (var i = 0; i < name.Length; i++)
        {
            var ch = name[i];
            if (MacExpand.IsAlnum(ch) || ch == '_')
            {
                if (labelLength == 0)
                    labelCount++;
                labelLength++;
                if (labelLength > 63)
                {
                    if (gripe)
                        Msg.Warn($"{myname}: hostname label too long: {clipped}");
                    return false;
                }
                if (ch is < '0' or > '9')
                    nonNumeric = true;
            }
            else if (ch == '.')
            {
                if (labelLength == 0 || i + 1 == name.Length)
                {
                    if (gripe)
                        Msg.Warn($"{myname}: misplaced delimiter: {clipped}");
                    return false;
                }
                labelLength = 0;
            }
            else if (ch == '-')
            {
                nonNumeric = true;
                labelLength++;
                if (labelLength == 1 || i + 1 == name.Length || name[i + 1] == '.')
                {
                    if (gripe)
                        Msg.Warn($"{myname}: misplaced hyphen: {clipped}");
                    return false;
                }
            }
            else
            {
                if (gripe)
                {
                    // The C code reports the first byte of a multi-byte character.
                    int b = ch < 0x80 ? ch : Encoding.UTF8.GetBytes(name[i].ToString())[0];
                    Msg.Warn($"{myname}: invalid character {b}(decimal): {clipped}");
                }
                return false;
            }
        }
        if (!nonNumeric)
        {
            if (gripe)
                Msg.Warn($"{myname}: numeric hostname: {clipped}");
            return false;
        }
        if (Encoding.UTF8.GetByteCount(name) > 255)
        {
            if (gripe)
                Msg.Warn($"{myname}: bad length {Encoding.UTF8.GetByteCount(name)} for {clipped}...");
            return false;
        }
        return true;
    }

    // Str - check_mail_conf_str().
    internal static void Str(string name, string value, int min, int max)
    {
        var len = Encoding.UTF8.GetByteCount(value);
        if (min != 0 && len < min)
            Msg.Fatal($"bad string length {len} < {min}: {name} = {value}");
        if (max != 0 && len > max)
            Msg.Fatal($"bad string length {len} > {max}: {name} = {value}");
    }

    // Int - get_mail_conf_int(): strtol() of the whole value, then bounds.
    internal static int Int(string name, string value, int min, int max)
    {
        if (!StrToL(value, out var v) || v is < int.MinValue or > int.MaxValue)
            Msg.Fatal($"bad numerical configuration: {name} = {value}");
        var n = (int)v;
        if (min != 0 && n < min)
            Msg.Fatal($"invalid {name} parameter value {n} < {min}");
        if (max != 0 && n > max)
            Msg.Fatal($"invalid {name} parameter value {n} > {max}");
        return n;
    }

    private static void LongValue(string name, string value, long min, long max)
    {
        if (!StrToL(value, out var v))
            Msg.Fatal($"bad numerical configuration: {name} = {value}");
        if (min != 0 && v < min)
            Msg.Fatal($"invalid {name} parameter value {v} < {min}");
        if (max != 0 && v > max)
            Msg.Fatal($"invalid {name} parameter value {v} > {max}");
    }

    // Bool - get_mail_conf_bool(): yes or no in any case.
    internal static bool Bool(string name, string value)
    {
        if (string.Equals(value, "yes", StringComparison.OrdinalIgnoreCase))
            return true;
        if (string.Equals(value, "no", StringComparison.OrdinalIgnoreCase))
            return false;
        Msg.Fatal($"bad boolean configuration: {name} = {value}");
        return false;
    }

    // Time - get_mail_conf_time(): seconds; a bare number takes the default's unit.
    internal static int Time(string name, string value, int min, int max)
    {
        var defUnit = 's';
        foreach (var c in ParamCatalog.Default(name) ?? "0s")
        {
            if (char.IsAsciiLetter(c))
            {
                defUnit = c;
                break;
            }
        }
        if (!Postfix.Util.ConvTime.TryParse(value, defUnit, out var seconds))
            Msg.Fatal($"parameter {name}: bad time value or unit: {value}");
        if (min != 0 && seconds < min)
            Msg.Fatal($"invalid {name}: {seconds} (min {min})");
        if (max != 0 && seconds > max)
            Msg.Fatal($"invalid {name}: {seconds} (max {max})");
        return seconds;
    }

    // StrToL - strtol() that must consume the whole non-empty string.
    private static bool StrToL(string s, out long value)
    {
        if (s.Length == 0 || !StrToLPrefix(s, out value, out var end))
        {
            value = 0;
            return false;
        }
        return end == s.Length;
    }

    // StrToLPrefix - strtol(): end is where conversion stopped (0 without digits); false on overflow.
    private static bool StrToLPrefix(string s, out long value, out int end)
    {
        value = 0;
        var i = 0;
        while (i < s.Length && BounceTemplate.IsSpace(s[i]))
            i++;
        var neg = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
            neg = s[i++] == '-';
        var digits = i;
        decimal acc = 0;
        while (i < s.Length && s[i] is >= '0' and <= '9')
        {
            acc = acc * 10 + (s[i++] - '0');
            if (acc > long.MaxValue + 1m)
                acc = long.MaxValue + 1m;
        }
        if (i == digits)
        {
            end = 0;
            return true;
        }
        end = i;
        if (neg)
            acc = -acc;
        if (acc > long.MaxValue || acc < long.MinValue)
            return false;
        value = (long)acc;
        return true;
    }

    // ReadParamFromFile - read_param_from_file(): first line, trimmed.
    private static string ReadParamFromFile(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Msg.Fatal($"{path}: cannot open file: {Sys.StrError(Sys.ErrnoOf(e))}");
            return "";
        }
        var nl = Array.IndexOf(data, (byte)'\n');
        var line = ByteText.Decode(nl < 0 ? data : data.AsSpan(0, nl));
        return line.Trim(' ', '\t', '\r', '\n', '\f', '\v');
    }

    // User - getpwnam() checks of check_default_privs() and check_mail_owner().
    private static (long Uid, long Gid) User(string main, string param, string name)
    {
        var entry = FindEntry("/etc/passwd", e => e[0] == name);
        if (entry == null || entry.Length < 4 || !long.TryParse(entry[2], out var uid) || !long.TryParse(entry[3], out var gid))
        {
            Msg.Fatal($"file {main}: parameter {param}: unknown user name value: {name}");
            return default;
        }
        if (uid == 0)
            Msg.Fatal($"file {main}: parameter {param}: user {name} has privileged user ID");
        if (gid == 0)
            Msg.Fatal($"file {main}: parameter {param}: user {name} has privileged group ID");
        if (param == "mail_owner")
        {
            var first = FindEntry("/etc/passwd", e => e.Length > 2 && e[2] == entry[2]);
            if (first != null && first[0] != name)
                Msg.Fatal($"file {main}: parameter {param}: user {name} has same user ID as {first[0]}");
        }
        return (uid, gid);
    }

    // Group - getgrnam() checks of check_sgid_group().
    private static long Group(string main, string name)
    {
        var entry = FindEntry("/etc/group", e => e[0] == name);
        if (entry == null || entry.Length < 3 || !long.TryParse(entry[2], out var gid))
        {
            Msg.Fatal($"file {main}: parameter setgid_group: unknown group name: {name}");
            return 0;
        }
        if (gid == 0)
            Msg.Fatal($"file {main}: parameter setgid_group: group {name} has privileged group ID");
        var first = FindEntry("/etc/group", e => e.Length > 2 && e[2] == entry[2]);
        if (first != null && first[0] != name)
            Msg.Fatal($"file {main}: parameter setgid_group: group {name} has same group ID as {first[0]}");
        return gid;
    }

    private static string[]? FindEntry(string file, Func<string[], bool> match)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        foreach (var line in lines)
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            var fields = line.Split(':');
            if (match(fields))
                return fields;
        }
        return null;
    }

    // VerpDelimsVerify - verp_delims_verify(): two characters from the filter.
    private static string? VerpDelimsVerify(string delims, string filter)
    {
        if (delims.Length != 2)
            return "bad VERP delimiter character count";
        if (filter.IndexOf(delims[0], StringComparison.Ordinal) < 0)
            return "bad first VERP delimiter character";
        if (filter.IndexOf(delims[1], StringComparison.Ordinal) < 0)
            return "bad second VERP delimiter character";
        return null;
    }
}
