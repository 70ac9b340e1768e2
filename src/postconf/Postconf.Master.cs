// NAME
//	Postconf (master) - read, check, show and modify master.cf entries
// POSTFIX
//	src/postconf/postconf_master.c
// DESCRIPTION
//	Unlike master(8), postconf keeps every field as written: "-" stays
//	"-", so that -M shows what the file says and -Me can write it back.
//	Daemon options are normalized as they are parsed: "-vo" becomes
//	"-v" "-o", "-oname=value" becomes "-o" "name=value", and "{ text }"
//	loses its braces and surrounding blanks. The printers put them back
//	where a value contains blanks.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    // The single-letter daemon options that take a value ("-o name=value").
    public const string DaemonOptionsExpectingValue = "o";

    public const string MasterConfFile = "master.cf";
    private const string MasterBlanks = " \t\r\n";
    private const string ValidBoolTypes = "yn-";

    private static readonly string[] ValidMasterTypes = { "unix", "fifo", "inet", "pass", "unix-dgram" };

    // Preferred start column of each fixed field in -M output.
    private static readonly int[] ColumnGoal = { 0, 11, 17, 25, 33, 41, 49, 57 };

    // Encoding that measures output width in bytes, as strlen() does. Edits
    // of a file that is not valid UTF-8 switch it to Latin-1 (one char = one byte).
    private static Encoding textEncoding = new UTF8Encoding(false);

    private static int ByteLen(string s) => textEncoding.GetByteCount(s);

    private static bool IsBlank(char c) => MasterBlanks.IndexOf(c) >= 0;

    private static bool HasBlank(string s)
    {
        foreach (var c in s)
        {
            if (IsBlank(c))
                return true;
        }
        return false;
    }

    // IsOptionEnd - a non-option argument or "--" ends the daemon options.
    private static bool IsOptionEnd(string arg) => arg.Length == 0 || arg[0] != '-' || arg == "--";

    // ExpectsValue - the option takes the next argument as its value. As in
    // C, a lone "-" counts (strchr() finds the terminating null byte).
    private static bool ExpectsValue(string arg) =>
        arg.Length < 2 || DaemonOptionsExpectingValue.IndexOf(arg[1]) >= 0;

    // SplitQuoted - argv_splitq_append(): split on blanks, "{...}" kept whole.
    private static void SplitQuoted(List<string> argv, string text)
    {
        var i = 0;
        while (true)
        {
            while (i < text.Length && IsBlank(text[i]))
                i++;
            if (i >= text.Length)
                return;
            var start = i;
            var level = 0;
            for (; i < text.Length; i++)
            {
                var c = text[i];
                if (c == '{')
                    level++;
                else if (level > 0 && c == '}')
                    level--;
                else if (level == 0 && IsBlank(c))
                    break;
            }
            argv.Add(text[start..i]);
        }
    }

    // ExtractField - replace "{ text }" by "text"; extpar() warnings as Postfix.
    private static void ExtractField(List<string> argv, int field)
    {
        var inner = Postfix.Util.BalPar.Extract(argv[field], out var err);
        if (err != null)
            Msg.Warn($"{MasterConfFile}: {err}");
        argv[field] = inner.Trim(MasterBlanksAndSpace);
    }

    private static readonly char[] MasterBlanksAndSpace = { ' ', '\t', '\r', '\n', '\f', '\v' };

    // NormalizeNameValue - "name = value" from inside {} becomes "name=value".
    private static void NormalizeNameValue(List<string> argv, int field)
    {
        var arg = argv[field];
        var err = NameValue.Split(arg, out var name, out var value);
        if (err != null)
            Msg.Warn($"{MasterConfFile}: {err}: \"{arg}\"");
        else
            argv[field] = name + "=" + value;
    }

    // NormalizeDaemonArgs - bring the command arguments into canonical form.
    private static void NormalizeDaemonArgs(List<string> argv)
    {
        int field;
        for (field = MasterField.MinFields; field < argv.Count; field++)
        {
            var arg = argv[field];
            if (IsOptionEnd(arg))
                break;
            // Split "-stuffozz" into "-stuff" and "-ozz".
            for (var cp = 2; cp < arg.Length; cp++)
            {
                if (DaemonOptionsExpectingValue.IndexOf(arg[cp]) >= 0)
                {
                    argv.Insert(field + 1, "-" + arg[cp..]);
                    arg = argv[field] = arg[..cp];
                    break;
                }
            }
            if (!ExpectsValue(arg))
                continue;
            bool extract;
            if (arg.Length > 2)
            {
                // Split "-oname=value" into "-o" "name=value".
                argv.Insert(field + 1, arg[2..]);
                argv[field] = arg[..2];
                field += 1;
                extract = argv[field].StartsWith('{');
            }
            else if (field + 1 < argv.Count)
            {
                field += 1;
                extract = argv[field].StartsWith('{');
            }
            else
            {
                extract = false;
            }
            if (extract)
            {
                ExtractField(argv, field);
                if (argv[field - 1].Length > 1 && argv[field - 1][1] == 'o')
                    NormalizeNameValue(argv, field);
            }
        }
        // Non-option arguments lose their braces too.
        for (; field < argv.Count; field++)
        {
            if (argv[field].StartsWith('{'))
                ExtractField(argv, field);
        }
    }

    // FixFatal - fatal error about multi-line text, shown on one line.
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void FixFatal(string text) => Msg.Fatal(text.Replace('\n', ' '));

    // CheckMasterEntry - the fixed fields must have valid values.
    private static void CheckMasterEntry(List<string> argv, string rawText)
    {
        var cp = argv[MasterField.Type];
        if (Array.IndexOf(ValidMasterTypes, cp) < 0)
            FixFatal($"invalid type field \"{cp}\" in \"{rawText}\"");

        for (var field = MasterField.Private; field <= MasterField.Chroot; field++)
        {
            // As in Postfix, an empty field passes (C finds the null byte).
            cp = argv[field];
            if (cp.Length > 1 || (cp.Length == 1 && ValidBoolTypes.IndexOf(cp[0]) < 0))
                FixFatal($"invalid {StrFieldPattern(field)} field \"{cp}\" in \"{rawText}\"");
        }

        cp = argv[MasterField.Wakeup];
        var len = cp.Length;
        if (len > 0 && cp[len - 1] == '?')
            len--;
        if (!(cp.StartsWith('-') && len == 1) && DigitSpan(cp) != len)
            FixFatal($"invalid wakeup field \"{cp}\" in \"{rawText}\"");

        cp = argv[MasterField.MaxProc];
        if (cp != "-" && DigitSpan(cp) != cp.Length)
            FixFatal($"invalid process_limit field \"{cp}\" in \"{rawText}\"");
    }

    private static int DigitSpan(string s)
    {
        var n = 0;
        while (n < s.Length && s[n] >= '0' && s[n] <= '9')
            n++;
        return n;
    }

    // ParseMasterEntry - parse one (possibly multi-line) entry; error text or null.
    public static string? ParseMasterEntry(MasterEntry entry, string text)
    {
        var argv = new List<string>();
        SplitQuoted(argv, text);
        if (argv.Count < MasterField.MinFields)
            return "bad field count";
        CheckMasterEntry(argv, text);
        NormalizeDaemonArgs(argv);
        entry.NameSpace = argv[0] + "/" + argv[1];
        entry.Argv = argv;
        entry.ValidNames = null;
        entry.AllParams = new Dictionary<string, string>(StringComparer.Ordinal);
        entry.RoParams = new Dictionary<string, string>(StringComparer.Ordinal);
        var command = argv[MasterField.Command];
        var slash = command.LastIndexOf('/');
        var processName = slash >= 0 ? command[(slash + 1)..] : command;
        entry.RoParams["process_name"] = processName;
        entry.RoParams["service_name"] = processName != argv[0] ? argv[0] : processName;
        return null;
    }

    // ReadMaster - load $config_directory/master.cf into MasterTable.
    public static void ReadMaster(bool failOnOpenError)
    {
        var path = ConfigDir + "/" + MasterConfFile;
        MasterTable = new List<MasterEntry>();
        byte[] data;
        try
        {
            // A directory opens fine in C and reads as nothing.
            data = Directory.Exists(path) ? Array.Empty<byte>() : ReadAllBytesUnlocked(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var text = $"open {path}: {Sys.StrError(ErrnoOf(e, path))}";
            if (failOnOpenError)
                Msg.Fatal(text);
            Msg.Warn(text);
            return;
        }
        var reader = new LogicalLineReader(data, path);
        string? line;
        while ((line = reader.Next(out var lineNumber)) != null)
        {
            var entry = new MasterEntry { LineNumber = lineNumber };
            var err = ParseMasterEntry(entry, line);
            if (err != null)
                Msg.Fatal($"file {path}: line {lineNumber}: {err}");
            MasterTable.Add(entry);
        }
    }

    // PrintMasterEntry - one entry in master.cf layout, fixed fields in columns.
    public static void PrintMasterEntry(TextWriter fp, Mode mode, MasterEntry entry)
    {
        var argv = entry.Argv;
        var lineLen = 0;
        int field;
        for (field = 0; field < MasterField.MinFields && field < argv.Count; field++)
        {
            if (lineLen > 0)
            {
                do
                {
                    fp.Write(' ');
                    lineLen++;
                } while (lineLen < ColumnGoal[field]);
            }
            fp.Write(argv[field]);
            lineLen += ByteLen(argv[field]);
        }
        PrintDaemonArgs(fp, mode, entry, field, lineLen, 3);
        fp.Write('\n');
    }

    // PrintDaemonArgs - options and arguments from "field" on; an option and
    // its value stay together on a line of their own (when folding), and a
    // value or later argument with blanks gets its braces back. valueExtra is
    // the width Postfix budgets for the gap between option and value.
    private static void PrintDaemonArgs(TextWriter fp, Mode mode, MasterEntry entry, int field, int lineLen, int valueExtra)
    {
        var argv = entry.Argv;
        var inDaemonOptions = true;
        for (; field < argv.Count; field++)
        {
            var arg = argv[field];
            var argLen = ByteLen(arg);
            string? aval = null;
            var needParens = false;
            if (inDaemonOptions)
            {
                if (IsOptionEnd(arg))
                {
                    inDaemonOptions = false;
                }
                else if (ExpectsValue(arg) && field + 1 < argv.Count)
                {
                    aval = argv[field + 1];
                    // Start a new line before an option with a value.
                    lineLen = LineLimit;
                    if (arg == "-o" && (mode & Mode.ShowEval) != 0)
                        aval = ExpandParameterValue(mode, aval, entry);
                    argLen += ByteLen(aval) + valueExtra;
                    if (needParens = HasBlank(aval))
                        argLen += 2;
                }
            }
            else
            {
                needParens = HasBlank(arg);
            }
            if (lineLen > IndentText.Length)
            {
                if ((mode & Mode.FoldLine) == 0 || lineLen + 1 + argLen < LineLimit)
                {
                    fp.Write(' ');
                    lineLen++;
                }
                else
                {
                    fp.Write("\n" + IndentText);
                    lineLen = IndentText.Length;
                }
            }
            var braces = !inDaemonOptions && needParens;
            if (braces)
                fp.Write('{');
            fp.Write(arg);
            if (braces)
                fp.Write('}');
            lineLen += ByteLen(arg) + (braces ? 2 : 0);
            if (aval != null)
            {
                fp.Write(' ');
                if (needParens)
                    fp.Write('{');
                fp.Write(aval);
                if (needParens)
                    fp.Write('}');
                field += 1;
                // And a new line after it.
                lineLen = LineLimit;
            }
        }
    }

    // Request - one command-line pattern and how often it matched.
    private sealed class MasterRequest
    {
        public int MatchCount;
        public string RawText = "";
        public string[] ServicePattern = Array.Empty<string>();
        public int FieldPattern;
        public string ParamPattern = "";
    }

    private static void WarnUnmatched(List<MasterRequest> reqs)
    {
        foreach (var req in reqs)
        {
            if (req.MatchCount == 0)
                Msg.Warn($"unmatched request: \"{req.RawText}\"");
        }
    }

    // ShowMasterEntries - postconf -M [service[/type]...].
    public static void ShowMasterEntries(TextWriter fp, Mode mode, string[] patterns)
    {
        var reqs = new List<MasterRequest>();
        foreach (var raw in patterns)
        {
            var pattern = ParseServicePattern(raw, 1, 2);
            if (pattern == null)
                Msg.Fatal("-M option requires service_name[/type]");
            reqs.Add(new MasterRequest { RawText = raw, ServicePattern = pattern });
        }
        foreach (var entry in MasterTable)
        {
            if (reqs.Count == 0)
            {
                PrintMasterEntry(fp, mode, entry);
                continue;
            }
            foreach (var req in reqs)
            {
                if (MatchServicePattern(req.ServicePattern, entry.ServiceName, entry.ServiceType))
                {
                    req.MatchCount++;
                    PrintMasterEntry(fp, mode, entry);
                }
            }
        }
        WarnUnmatched(reqs);
    }

    // PrintMasterField - "service/type/field = value" (-F, -Fh, -FH).
    private static void PrintMasterField(TextWriter fp, Mode mode, MasterEntry entry, int field)
    {
        var argv = entry.Argv;
        var lineLen = 0;
        if ((mode & Mode.HideName) == 0)
        {
            var name = argv[0] + "/" + argv[1] + "/" + StrFieldPattern(field);
            fp.Write(name);
            lineLen += ByteLen(name);
        }
        if ((mode & (Mode.HideName | Mode.HideValue)) == 0)
        {
            fp.Write(" = ");
            lineLen += 3;
        }
        if ((mode & Mode.HideValue) == 0)
        {
            // A long first value starts on a new line, folding or not.
            if (lineLen > 0 && lineLen + ByteLen(argv[field]) > LineLimit)
            {
                fp.Write("\n" + IndentText);
                lineLen = IndentText.Length;
            }
            fp.Write(argv[field]);
            lineLen += ByteLen(argv[field]);
        }
        if (field == MasterField.Command && (mode & Mode.HideValue) == 0)
            PrintDaemonArgs(fp, mode, entry, field + 1, lineLen, 1);
        fp.Write('\n');
    }

    // ShowMasterFields - postconf -F [service[/type[/field]]...].
    public static void ShowMasterFields(TextWriter fp, Mode mode, string[] patterns)
    {
        var reqs = new List<MasterRequest>();
        foreach (var raw in patterns)
        {
            var pattern = ParseServicePattern(raw, 1, 3);
            if (pattern == null)
                Msg.Fatal("-F option requires service_name[/type[/field]]");
            reqs.Add(new MasterRequest { RawText = raw, ServicePattern = pattern, FieldPattern = ParseFieldPattern(pattern[2]) });
        }
        foreach (var entry in MasterTable)
        {
            if (reqs.Count == 0)
            {
                for (var field = 0; field <= MasterField.Command; field++)
                    PrintMasterField(fp, mode, entry, field);
                continue;
            }
            foreach (var req in reqs)
            {
                if (!MatchServicePattern(req.ServicePattern, entry.ServiceName, entry.ServiceType))
                    continue;
                req.MatchCount++;
                if (IsMagicFieldPattern(req.FieldPattern))
                {
                    for (var field = 0; field <= MasterField.Command; field++)
                        PrintMasterField(fp, mode, entry, field);
                }
                else
                {
                    PrintMasterField(fp, mode, entry, req.FieldPattern);
                }
            }
        }
        WarnUnmatched(reqs);
    }

    // EditMasterField - replace one field; the command field takes the rest of the line.
    public static void EditMasterField(MasterEntry entry, int field, string newValue)
    {
        if (field == MasterField.Command)
        {
            entry.Argv.RemoveRange(MasterField.Command, entry.Argv.Count - MasterField.Command);
            SplitQuoted(entry.Argv, newValue);
            NormalizeDaemonArgs(entry.Argv);
        }
        else
        {
            entry.Argv[field] = newValue;
        }
        CheckMasterEntry(entry.Argv, newValue);
    }

    // PrintMasterParam - "service/type/name = value" (-P, -Ph, -PH, -Px).
    private static void PrintMasterParam(TextWriter fp, Mode mode, MasterEntry entry, string name, string value)
    {
        if ((mode & Mode.HideValue) != 0)
        {
            PrintLine(fp, mode, entry.NameSpace + "/" + name);
            return;
        }
        if ((mode & Mode.ShowEval) != 0)
            value = ExpandParameterValue(mode, value, entry);
        if ((mode & Mode.HideName) == 0)
            PrintLine(fp, mode, entry.NameSpace + "/" + name + " = " + value);
        else
            PrintLine(fp, mode, value);
    }

    // ShowMasterAnyParam - all "-o" settings of an entry, sorted by name.
    private static void ShowMasterAnyParam(TextWriter fp, Mode mode, MasterEntry entry)
    {
        var names = new List<string>(entry.AllParams.Keys);
        names.Sort(string.CompareOrdinal);
        foreach (var name in names)
            PrintMasterParam(fp, mode, entry, name, entry.AllParams[name]);
    }

    // ShowMasterParams - postconf -P [service[/type[/parameter]]...].
    public static void ShowMasterParams(TextWriter fp, Mode mode, string[] patterns)
    {
        var reqs = new List<MasterRequest>();
        foreach (var raw in patterns)
        {
            var pattern = ParseServicePattern(raw, 1, 3);
            if (pattern == null)
                Msg.Fatal("-P option requires service_name[/type[/parameter]]");
            reqs.Add(new MasterRequest { RawText = raw, ServicePattern = pattern, ParamPattern = pattern[2] });
        }
        foreach (var entry in MasterTable)
        {
            // An entry without "-o" settings has no parameter table at all.
            if (entry.AllParams.Count == 0)
                continue;
            if (reqs.Count == 0)
            {
                ShowMasterAnyParam(fp, mode, entry);
                continue;
            }
            foreach (var req in reqs)
            {
                if (!MatchServicePattern(req.ServicePattern, entry.ServiceName, entry.ServiceType))
                    continue;
                if (MatchAny(req.ParamPattern))
                {
                    ShowMasterAnyParam(fp, mode, entry);
                    req.MatchCount++;
                }
                else if (entry.AllParams.TryGetValue(req.ParamPattern, out var value))
                {
                    PrintMasterParam(fp, mode, entry, req.ParamPattern, value);
                    req.MatchCount++;
                }
            }
        }
        WarnUnmatched(reqs);
    }

    // EditMasterParam - update, delete (-X) or append "-o name=value".
    public static void EditMasterParam(MasterEntry entry, Mode mode, string name, string value)
    {
        var argv = entry.Argv;
        var matched = false;
        int field;
        for (field = MasterField.MinFields; field < argv.Count; field++)
        {
            var arg = argv[field];
            if (IsOptionEnd(arg))
                break;
            if (!ExpectsValue(arg) || field + 1 >= argv.Count)
                continue;
            var aval = argv[field + 1];
            if (arg == "-o" && aval.Length > name.Length && aval[name.Length] == '='
                && aval.StartsWith(name, StringComparison.Ordinal))
            {
                matched = true;
                switch (mode & (Mode.EditConf | Mode.EditExcl))
                {
                    case Mode.EditConf:
                        argv[field + 1] = name + "=" + value;
                        if (entry.AllParams.Count > 0)
                            entry.AllParams[name] = value;
                        break;
                    case Mode.EditExcl:
                        argv.RemoveRange(field, 2);
                        entry.AllParams.Remove(name);
                        field -= 2;
                        break;
                    default:
                        Msg.Panic($"pcf_edit_master_param: unexpected mode: {(int)mode}");
                        break;
                }
            }
            field += 1;
        }
        if ((mode & Mode.EditConf) != 0 && !matched)
        {
            // Past the end when the options ran out; the list may end short.
            if (field > argv.Count)
                field = argv.Count;
            argv.Insert(field, "-o");
            argv.Insert(field + 1, name + "=" + value);
            if (entry.AllParams.Count > 0)
                entry.AllParams[name] = value;
        }
    }
}
