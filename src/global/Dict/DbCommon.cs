// NAME
//	DbCommon - query and result templates of database client tables
// POSTFIX
//	src/global/db_common.c
// DESCRIPTION
//	Templates use %% (a percent), %s (the key or the result), %u / %d
//	(its local part / domain), %S %U %D (the same of the lookup key in
//	a result template), and %1..%9 (domain labels counted from the
//	right). Parse() records what a template needs; Expand() skips keys
//	that cannot fill it (no domain for %d, empty local part for %u, too
//	few labels for %n) and appends, after a comma, the expansion with
//	each substituted part passed through the table's quote function.
//	CheckDomain() applies the "domain" setting.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class DbCommon
{
    private const int KeyDomain = 1 << 0;
    private const int KeyUser = 1 << 1;
    private const int ValueDomain = 1 << 2;
    private const int ValueUser = 1 << 3;
    private const int KeyPartial = 1 << 4;

    private readonly Dict dict;
    private int flags;
    private int nparts;
    private List<(bool Negate, string Pattern)>? domains;

    // Quote - the table's quoting of a substituted part (SQL escaping).
    public delegate void Quote(string text, StringBuilder result);

    public DbCommon(Dict dict)
    {
        this.dict = dict;
    }

    // Parse - db_common_parse(): note what the template uses; true when
    // it substitutes anything at all.
    public bool Parse(string format, bool query)
    {
        var dynamic = false;
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%')
                continue;
            var c = ++i < format.Length ? format[i] : '\0';
            switch (c)
            {
                case '%':
                    break;
                case 'u':
                    flags |= query ? KeyUser | KeyPartial : ValueUser;
                    dynamic = true;
                    break;
                case 'd':
                    flags |= query ? KeyDomain | KeyPartial : ValueDomain;
                    dynamic = true;
                    break;
                case 's':
                case 'S':
                    dynamic = true;
                    break;
                case 'U':
                    flags |= KeyPartial | KeyUser;
                    dynamic = true;
                    break;
                case >= '1' and <= '9':
                    nparts = Math.Max(nparts, c - '0');
                    flags |= KeyPartial | KeyDomain;
                    dynamic = true;
                    break;
                case 'D':
                    flags |= KeyPartial | KeyDomain;
                    dynamic = true;
                    break;
                default:
                    Msg.Fatal($"db_common_parse: {dict.Name}: Invalid {(query ? "query" : "result")} template: {format}");
                    break;
            }
        }
        return dynamic;
    }

    // ParseDomain - db_common_parse_domain(): the "domain" setting.
    public void ParseDomain(CfgParser parser)
    {
        var list = parser.GetStr("domain", "", 0, 0) ?? "";
        if (list.Length == 0)
            return;
        domains = new List<(bool, string)>();
        AddPatterns(list, parser.Name);
    }

    private void AddPatterns(string list, string parserName)
    {
        var pos = 0;
        while (RegexpSupport.NextToken(list, ref pos, ", \t\r\n", out var item))
        {
            var negate = false;
            while (item.StartsWith('!'))
            {
                negate = !negate;
                item = item[1..].TrimStart();
            }
            if (item.StartsWith('/'))
            {
                string text;
                try
                {
                    text = File.ReadAllText(item);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Msg.Fatal($"{parserName}: open file {item}: {Sys.StrError(Sys.ErrnoOf(e))}");
                    return;
                }
                foreach (var line in text.Split('\n'))
                {
                    var t = line.Trim();
                    if (t.Length > 0 && t[0] != '#')
                        AddPatterns(t, parserName);
                }
                continue;
            }
            domains!.Add((negate, item));   // domains is set before AddPatterns runs
        }
    }

    // CheckDomain - db_common_check_domain(): may addr be looked up?
    public bool CheckDomain(string addr)
    {
        if (domains == null)
            return true;
        var at = addr.LastIndexOf('@');
        if (at <= 0)
            return false;
        var domain = addr[(at + 1)..];
        foreach (var (negate, pattern) in domains)
        {
            if (pattern.Equals(domain, StringComparison.OrdinalIgnoreCase))
                return !negate;
        }
        return false;
    }

    // Expand - db_common_expand(): append the expansion of format for
    // value (the lookup key when key is null; else a result row for key).
    // False when value cannot fill the template (nothing appended).
    public bool Expand(string format, string? value, string? key, StringBuilder result, Quote? quote)
    {
        if (value == null)
            return false;
        if (value.Length == 0)
        {
            if (key != null)
                Msg.Warn($"table \"{dict.Type}:{dict.Name}\": empty lookup result for: \"{key}\" -- ignored");
            else
                Msg.Warn($"table \"{dict.Type}:{dict.Name}\": empty query string -- ignored");
            return false;
        }
        var dflag = key != null ? ValueDomain : KeyDomain;
        var vdomain = -1;   // index of the domain in value, -1 none
        var kdomain = -1;
        if (key != null)
        {
            if ((flags & (ValueDomain | ValueUser)) != 0)
                vdomain = Domain(value);
            if (((vdomain < 0 || vdomain == value.Length) && (flags & ValueDomain) != 0)
                || (vdomain == 1 && (flags & ValueUser) != 0))
                return false;
            if ((flags & (KeyDomain | KeyUser)) != 0)
                kdomain = Domain(key);
            if (((kdomain < 0 || kdomain == key.Length) && (flags & KeyDomain) != 0)
                || (kdomain == 1 && (flags & KeyUser) != 0))
            {
                Msg.Warn($"db_common_expand: {dict.Name}: lookup key '{value}' skipped after query");
                return false;
            }
        }
        else
        {
            if ((flags & (KeyDomain | KeyUser)) != 0)
                vdomain = Domain(value);
            if (((vdomain < 0 || vdomain == value.Length) && (flags & KeyDomain) != 0)
                || (vdomain == 1 && (flags & KeyUser) != 0))
                return false;
        }
        string[]? parts = null;
        if (nparts > 0)
        {
            var src = key != null ? (kdomain < 0 ? null : key[kdomain..]) : (vdomain < 0 ? null : value[vdomain..]);
            parts = (src ?? "").Split('.', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < nparts)
                return false;
        }
        if (result.Length > 0)
            result.Append(',');
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%')
            {
                result.Append(c);
                continue;
            }
            c = ++i < format.Length ? format[i] : '\0';
            switch (c)
            {
                case '%':
                    result.Append('%');
                    break;
                case 's':
                    Put(value, result, quote);
                    break;
                case 'u':
                    Put(vdomain >= 0 ? value[..(vdomain - 1)] : value, result, quote);
                    break;
                case 'd':
                    if ((flags & dflag) == 0 || vdomain < 0)
                        Msg.Panic($"db_common_expand: {dict.Name}: {format}: bad query/result template context");
                    Put(value[vdomain..], result, quote);
                    break;
                case 'S':
                    Put(key ?? value, result, quote);
                    break;
                case 'U':
                    if (key != null)
                        Put(kdomain >= 0 ? key[..(kdomain - 1)] : key, result, quote);
                    else
                        Put(vdomain >= 0 ? value[..(vdomain - 1)] : value, result, quote);
                    break;
                case 'D':
                    {
                        var d = key != null ? kdomain : vdomain;
                        if ((flags & KeyDomain) == 0 || d < 0)
                            Msg.Panic($"db_common_expand: {dict.Name}: {format}: bad query/result template context");
                        Put((key ?? value)[d..], result, quote);
                        break;
                    }
                case >= '1' and <= '9':
                    if ((flags & KeyDomain) == 0 || nparts < c - '0' || parts == null)
                        Msg.Panic($"db_common_expand: {dict.Name}: {format}: bad query/result template context");
                    Put(parts[^(c - '0')], result, quote);
                    break;
                default:
                    Msg.Fatal($"db_common_expand: {dict.Name}: invalid {(key != null ? "result" : "query")} template '{format}'");
                    break;
            }
        }
        return true;
    }

    // Domain - index just after the last '@', or -1.
    private static int Domain(string s)
    {
        var at = s.LastIndexOf('@');
        return at < 0 ? -1 : at + 1;
    }

    private static void Put(string text, StringBuilder result, Quote? quote)
    {
        if (quote != null)
            quote(text, result);
        else
            result.Append(text);
    }

    // SqlBuildQuery - db_common_sql_build_query(): the legacy
    // table/select_field/where_field/additional_conditions settings.
    public static string SqlBuildQuery(CfgParser parser)
    {
        var table = parser.GetStr("table", null, 1, 0);
        if (table == null)
            Msg.Fatal("db_common_sql_build_query: 'table' parameter not defined");
        var select = parser.GetStr("select_field", null, 1, 0);
        if (select == null)
            Msg.Fatal("db_common_sql_build_query: 'select_field' parameter not defined");
        var where = parser.GetStr("where_field", null, 1, 0);
        if (where == null)
            Msg.Fatal("db_common_sql_build_query: 'where_field' parameter not defined");
        var extra = parser.GetStr("additional_conditions", "", 0, 0);
        return $"SELECT {select} FROM {table} WHERE {where}='%s' {extra}";
    }
}
