// NAME
//	MasterCf - master.cf as postconf(1) reads it
// POSTFIX
//	src/postconf/postconf_master.c (pcf_read_master, pcf_check_master_entry)
// DESCRIPTION
//	The reference's control script asks postconf for parameter values,
//	and every postconf run reads master.cf too: a missing file costs a
//	warning, a malformed entry is fatal. Read() returns the entries and
//	the text of the first such error, so that the control command can
//	show the same consequences. Continuation lines start with white
//	space; comments and blank lines are skipped.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal sealed class MasterCf
{
    private static readonly string[] Types = { "inet", "unix", "unix-dgram", "fifo", "pass" };
    private static readonly string[] BoolFields = { "private", "unprivileged", "chroot" };

    // OpenError - strerror of a failed open, or null.
    public string? OpenError { get; private init; }

    // Error - the fatal text of the first bad entry, or null.
    public string? Error { get; private init; }

    public List<List<string>> Entries { get; } = new();

    public static MasterCf Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new MasterCf { OpenError = Sys.StrError(Sys.ErrnoOf(e)) };
        }
        var logical = new List<(int Line, StringBuilder Text)>();
        var lineNo = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNo++;
            var trimmed = line.TrimStart(' ', '\t', '\r');
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
                continue;
            if ((line[0] == ' ' || line[0] == '\t') && logical.Count > 0)
                logical[^1].Text.Append(' ').Append(line);
            else
                logical.Add((lineNo, new StringBuilder(line)));
        }
        var cf = new MasterCf();
        foreach (var (line, sb) in logical)
        {
            var raw = sb.ToString();
            var fields = new List<string>(raw.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries));
            var error = fields.Count < 8 ? $"file {path}: line {line}: bad field count" : Check(fields, raw);
            if (error != null)
                return new MasterCf { Error = error };
            cf.Entries.Add(fields);
        }
        return cf;
    }

    // Has - whether service/type is defined (postconf -M service/type).
    public bool Has(string service, string type)
    {
        if (Error != null)
            return false;
        foreach (var e in Entries)
        {
            if (e[0] == service && e[1] == type)
                return true;
        }
        return false;
    }

    private static string? Check(List<string> f, string raw)
    {
        if (Array.IndexOf(Types, f[1]) < 0)
            return $"invalid type field \"{f[1]}\" in \"{raw}\"";
        for (var i = 2; i <= 4; i++)
        {
            if (f[i] is not ("y" or "n" or "-"))
                return $"invalid {BoolFields[i - 2]} field \"{f[i]}\" in \"{raw}\"";
        }
        var wakeup = f[5].EndsWith('?') ? f[5][..^1] : f[5];
        if (wakeup != "-" && !AllDigits(wakeup))
            return $"invalid wakeup field \"{f[5]}\" in \"{raw}\"";
        if (f[6] != "-" && !AllDigits(f[6]))
            return $"invalid process_limit field \"{f[6]}\" in \"{raw}\"";
        return null;
    }

    private static bool AllDigits(string s)
    {
        foreach (var c in s)
        {
            if (c is < '0' or > '9')
                return false;
        }
        return true;
    }
}
