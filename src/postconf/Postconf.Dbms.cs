// NAME
//	Postconf (dbms) - legacy database parameters and client files
// POSTFIX
//	src/postconf/postconf_dbms.c
// DESCRIPTION
//	In a value like "ldap:foo" (a database type and a name that is not a
//	path), the parameters foo_server_host, foo_search_base, ... in
//	main.cf or master.cf become valid. In "mysql:/etc/postfix/x.cf" the
//	client file is read and its unknown settings reported as unused.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Config;
using Postfix.Global.Params;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    private static readonly string[] LdapSuffixes =
    {
        "bind", "bind_dn", "bind_pw", "cache", "cache_expiry", "cache_size", "chase_referrals", "debuglevel",
        "dereference", "domain", "expansion_limit", "leaf_result_attribute", "query_filter", "recursion_limit",
        "result_attribute", "result_filter", "result_format", "sasl_authz_id", "sasl_mechs", "sasl_minssf",
        "sasl_realm", "scope", "search_base", "server_host", "server_port", "size_limit",
        "special_result_attribute", "start_tls", "terminal_result_attribute", "timeout", "tls_ca_cert_dir",
        "tls_ca_cert_file", "tls_cert", "tls_cipher_suite", "tls_key", "tls_random_file", "tls_require_cert",
        "version",
    };

    private static readonly string[] MysqlSuffixes =
    {
        "additional_conditions", "dbname", "domain", "expansion_limit", "hosts", "option_file", "option_group",
        "password", "query", "require_result_set", "result_format", "select_field", "table", "tls_CAfile",
        "tls_CApath", "tls_cert_file", "tls_ciphers", "tls_key_file", "tls_verify_cert", "user", "where_field",
    };

    private static readonly string[] PgsqlSuffixes =
    {
        "additional_conditions", "dbname", "domain", "expansion_limit", "hosts", "password", "query",
        "result_format", "select_field", "select_function", "table", "user", "where_field",
    };

    private static readonly string[] SqliteSuffixes =
    {
        "additional_conditions", "dbpath", "domain", "expansion_limit", "query", "result_format", "select_field",
        "table", "where_field",
    };

    private static readonly string[] MemcacheSuffixes =
    {
        "backup", "data_size_limit", "domain", "flags", "key_format", "line_size_limit", "max_try", "memcache",
        "retry_pause", "timeout", "ttl",
    };

    private static readonly (string Type, string[] Suffixes)[] DbmsInfo =
    {
        ("ldap", LdapSuffixes), ("mysql", MysqlSuffixes), ("pgsql", PgsqlSuffixes),
        ("sqlite", SqliteSuffixes), ("memcache", MemcacheSuffixes),
    };

    // Client configuration files already visited ("type:/path").
    private static readonly HashSet<string> DbmsFilesSeen = new(StringComparer.Ordinal);

    // CheckDbmsClient - report unknown settings in a database client file, once.
    private static void CheckDbmsClient(string type, string[] suffixes, string cfFile)
    {
        var spec = type + ":" + cfFile;
        if (!DbmsFilesSeen.Add(spec))
            return;
        byte[] data;
        try
        {
            if (Directory.Exists(cfFile))
            {
                Msg.Warn($"open \"{type}\" configuration \"{cfFile}\": not a regular file");
                return;
            }
            data = File.ReadAllBytes(cfFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var errno = Sys.ErrnoOf(e);
            if (errno != Sys.EACCES)
                Msg.Warn($"open \"{type}\" configuration \"{cfFile}\": {Sys.StrError(errno)}");
            return;
        }
        var conf = new MailConf();
        conf.LoadBytes(data, cfFile);
        foreach (var (name, value) in conf.Values)
        {
            if (Array.IndexOf(suffixes, name) < 0)
                Msg.Warn($"{spec}: unused parameter: {name}={value}");
        }
    }

    // RegisterDbmsHelper - look for type:name and type:/file in a value.
    private static void RegisterDbmsHelper(string text, MasterEntry? localScope)
    {
        var pos = 0;
        string? token;
        while ((token = StrTokQ(text, ref pos, CharsCommaSp, "{}")) != null)
        {
            if (token[0] == '{')
            {
                var inner = ExtPar(token, localScope);
                RegisterDbmsHelper(inner, localScope);
                continue;
            }
            var dbType = token;
            string? prefix;
            while ((prefix = SplitAt(ref dbType, ':')) != null && dbType == "proxy")
                dbType = prefix;
            if (prefix == null)
                continue;
            if (prefix.StartsWith('/'))
            {
                foreach (var (type, suffixes) in DbmsInfo)
                {
                    if (dbType == type)
                    {
                        CheckDbmsClient(type, suffixes, prefix);
                        break;
                    }
                }
                continue;
            }
            if (prefix.StartsWith('.'))
                continue;
            if (prefix.StartsWith('{'))
            {
                RegisterDbmsHelper(ExtPar(prefix, localScope), localScope);
                continue;
            }
            foreach (var (type, suffixes) in DbmsInfo)
            {
                if (dbType == type)
                {
                    foreach (var suffix in suffixes)
                        FlagUserParameter(prefix + "_" + suffix, ParamFlags.Dbms | ParamFlags.User, localScope);
                    break;
                }
            }
        }
    }

    // SplitAt - split "a:b" at the first sep: text becomes "a", returns "b" (or null).
    private static string? SplitAt(ref string text, char sep)
    {
        var i = text.IndexOf(sep, StringComparison.Ordinal);
        if (i < 0)
            return null;
        var rest = text[(i + 1)..];
        text = text[..i];
        return rest;
    }

    // ExtPar - strip {} around text, warning like extpar() on bad balance.
    private static string ExtPar(string text, MasterEntry? localScope)
    {
        var result = Postfix.Util.BalPar.Extract(text, out var err);
        if (err != null)
        {
            if (localScope != null)
                Msg.Warn($"{MailConf.MasterConfFile}:{localScope.NameSpace}: {err}");
            else
                Msg.Warn($"{MailConf.MainConfFile}: {err}");
        }
        return result;
    }

    // StrTokQ - mystrtokq(): tokens separated by sep, {} groups kept whole.
    public static string? StrTokQ(string s, ref int pos, string sep, string parens)
    {
        while (pos < s.Length && sep.Contains(s[pos], StringComparison.Ordinal))
            pos++;
        if (pos >= s.Length)
            return null;
        var start = pos;
        var level = 0;
        for (; pos < s.Length; pos++)
        {
            var ch = s[pos];
            if (ch == parens[0])
            {
                level++;
            }
            else if (level > 0 && ch == parens[1])
            {
                level--;
            }
            else if (level == 0 && sep.Contains(ch, StringComparison.Ordinal))
            {
                var token = s[start..pos];
                pos++;
                return token;
            }
        }
        return s[start..];
    }

    // RegisterDbmsParameters - pcf_register_dbms_parameters().
    private static void RegisterDbmsParameters(string value, MasterEntry? localScope) =>
        RegisterDbmsHelper(ExpandParameterValue(Mode.ShowEval, value, localScope), localScope);
}
