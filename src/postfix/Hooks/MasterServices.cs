// NAME
//	MasterServices - master.cf entries with their command and -o overrides
// POSTFIX
//	src/master/master_ent.c, src/postconf/postconf_master.c
// DESCRIPTION
//	Read(path) gives every service of master.cf: name, type, the
//	command (basename of field 8), its arguments, and the "-o
//	name=value" overrides in order ("-o { name = value }" included,
//	as Postfix 3.0 allows). A field or argument in braces keeps its
//	white space. Conf(main) evaluates main.cf with one service's
//	overrides applied, as that daemon sees it. Unparsable lines are
//	skipped (postfix check reports them; this is a reader).
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Config;

namespace Postfix.Commands.Control.Hooks;

internal sealed class MasterService
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public required string Command { get; init; }
    public List<string> Args { get; } = new();
    public List<(string Name, string Value)> Overrides { get; } = new();

    // Label - "name/type" as postconf -M names a service.
    public string Label => Name + "/" + Type;

    public string? Override(string name)
    {
        string? value = null;
        foreach (var (n, v) in Overrides)
        {
            if (n == name)
                value = v;
        }
        return value;
    }

    // Argv - the argv= command line of a pipe or spawn service, or null.
    public string? Argv()
    {
        for (var i = 0; i < Args.Count; i++)
        {
            if (Args[i].StartsWith("argv=", StringComparison.Ordinal))
            {
                var sb = new StringBuilder(Args[i][5..]);
                for (var j = i + 1; j < Args.Count; j++)
                    sb.Append(' ').Append(Args[j]);
                return sb.ToString();
            }
        }
        return null;
    }

    // Flag - the value of a pipe/spawn "name=value" attribute before argv=.
    public string? Attribute(string name)
    {
        foreach (var a in Args)
        {
            if (a.StartsWith("argv=", StringComparison.Ordinal))
                break;
            if (a.StartsWith(name + "=", StringComparison.Ordinal))
                return a[(name.Length + 1)..];
        }
        return null;
    }

    // Conf - main.cf as this service sees it.
    public MailConf Conf(MailConf main)
    {
        var conf = new MailConf();
        foreach (var (n, v) in main.Values)
            conf.Update(n, v);
        if (main.LookupRaw("config_directory") == null)
            conf.Update("config_directory", main.ConfigDirectory);
        foreach (var (n, v) in Overrides)
            conf.Update(n, v);
        return conf;
    }
}

internal static class MasterServices
{
    public static List<MasterService> Read(string path)
    {
        var list = new List<MasterService>();
        if (!File.Exists(path))
            return list;
        var logical = new List<StringBuilder>();
        foreach (var line in File.ReadAllText(path).Split('\n'))
        {
            var trimmed = line.TrimStart(' ', '\t', '\r');
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
                continue;
            if ((line[0] == ' ' || line[0] == '\t') && logical.Count > 0)
                logical[^1].Append(' ').Append(line);
            else
                logical.Add(new StringBuilder(line));
        }
        foreach (var sb in logical)
        {
            var f = Tokens(sb.ToString());
            if (f.Count < 8)
                continue;
            var command = f[7];
            var slash = command.LastIndexOf('/');
            var svc = new MasterService { Name = f[0], Type = f[1], Command = slash >= 0 ? command[(slash + 1)..] : command };
            var options = true;
            for (var i = 8; i < f.Count; i++)
            {
                var arg = f[i];
                // Like the daemon's getopt: options end at the first other word
                // (pipe's "flags=R", "argv=..."), so "-oi" there is no override.
                if (!arg.StartsWith('-'))
                    options = false;
                if (!options)
                {
                    svc.Args.Add(Unbrace(arg));
                    continue;
                }
                if (arg == "-o" && i + 1 < f.Count)
                {
                    AddOverride(svc, f[++i]);
                    continue;
                }
                if (arg.StartsWith("-o", StringComparison.Ordinal) && arg.Length > 2 && !arg.StartsWith("-o{", StringComparison.Ordinal))
                {
                    AddOverride(svc, arg[2..]);
                    continue;
                }
                svc.Args.Add(Unbrace(arg));
            }
            list.Add(svc);
        }
        return list;
    }

    private static void AddOverride(MasterService svc, string text)
    {
        text = Unbrace(text);
        var eq = text.IndexOf('=');
        if (eq <= 0)
            return;
        svc.Overrides.Add((text[..eq].Trim(), text[(eq + 1)..].Trim()));
    }

    // Unbrace - "{ text }" becomes "text".
    public static string Unbrace(string s)
    {
        s = s.Trim();
        if (s.Length >= 2 && s[0] == '{' && s[^1] == '}')
            return s[1..^1].Trim();
        return s;
    }

    // Tokens - white-space separated words; a word starting with "{"
    // runs to the matching "}".
    public static List<string> Tokens(string s)
    {
        var result = new List<string>();
        var pos = 0;
        while (pos < s.Length)
        {
            while (pos < s.Length && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\r'))
                pos++;
            if (pos >= s.Length)
                break;
            var start = pos;
            if (s[pos] == '{')
            {
                var level = 0;
                for (; pos < s.Length; pos++)
                {
                    if (s[pos] == '{')
                        level++;
                    else if (s[pos] == '}' && --level == 0)
                    {
                        pos++;
                        break;
                    }
                }
            }
            else
            {
                while (pos < s.Length && s[pos] != ' ' && s[pos] != '\t' && s[pos] != '\r')
                    pos++;
            }
            result.Add(s[start..pos]);
        }
        return result;
    }
}
