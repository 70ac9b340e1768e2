// NAME
//	Postalias - create, query and update alias databases
// POSTFIX
//	src/postalias/postalias.c
// DESCRIPTION
//	Like postmap, but the source is in aliases(5) format ("name: value",
//	values are RFC 822 address lists, kept in their external form) and
//	output lines are "key:<TAB>value". After the entries, a build adds
//	the "@" sentinel that Sendmail programs look for, and the NIS keys
//	YP_LAST_MODIFIED and YP_MASTER_NAME (without NUL, not folded), as
//	Debian's Postfix does.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;
using static Postfix.Commands.Postalias.Tok822;

namespace Postfix.Commands.Postalias;

internal static class Postalias
{
    private const int FlagAsOwner = 1 << 0;
    private const int FlagSavePerm = 1 << 1;

    // Stdin - where "-q -", "-d -" and "-i" read (tests replace it).
    internal static Func<Stream> Stdin { get; set; } = Console.OpenStandardInput;

    // Now - the clock for YP_LAST_MODIFIED (tests replace it).
    internal static Func<long> Now { get; set; } = () => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static string myHostname = "localhost";

    private static readonly char[] ListSeparators = { ',', ' ', '\t', '\r', '\n' };

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Usage() =>
        Msg.Fatal($"usage: {Msg.Tag} [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file...");

    public static int Run(string[] args)
    {
        if (Msg.Tag.StartsWith("newaliases", StringComparison.Ordinal))
            args = NewAliasesArgs(args);
        var status = RunOptions(args);
        ByteOut.Flush();
        return status;
    }

    // NewAliasesArgs - run as newaliases: "postalias $alias_database", as
    // sendmail -bi does (it runs postalias, so messages say "postalias").
    // Sendmail options are accepted; -v is passed on, -C names the
    // configuration.
    internal static string[] NewAliasesArgs(string[] args)
    {
        var list = new List<string>();
        string? configDir = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "-v")
                list.Add("-v");
            else if (args[i] == "-C" && i + 1 < args.Length)
                configDir = args[++i];
            else if (args[i].StartsWith("-C", StringComparison.Ordinal) && args[i].Length > 2)
                configDir = args[i][2..];
        }
        if (configDir != null)
        {
            // -C may name main.cf itself.
            if (File.Exists(configDir) && !Directory.Exists(configDir))
                configDir = Path.GetDirectoryName(Path.GetFullPath(configDir));
            list.Insert(0, configDir!);
            list.Insert(0, "-c");
        }
        var conf = Postfix.Global.Config.MailConf.Read(configDir);
        Msg.Tag = "postalias";
        foreach (var db in conf.Eval("alias_database").Split(ListSeparators, StringSplitOptions.RemoveEmptyEntries))
            list.Add(db);
        return list.ToArray();
    }

    internal static int RunOptions(string[] args)
    {
        var flags = FlagAsOwner | FlagSavePerm;
        var openFlags = DictOpenFlags.ReadWrite | DictOpenFlags.Create | DictOpenFlags.Truncate;
        var dictFlags = DictFlags.DupWarn | DictFlags.FoldFix | DictFlags.Utf8Request;
        string? query = null;
        string? delkey = null;
        string? configDir = null;
        var sequence = false;
        var g = new GetOpt(args, "Nc:d:finopq:rsuvw", Msg.Tag);
        int ch;
        while ((ch = g.Next()) > 0)
        {
            switch (ch)
            {
                case 'N':
                    dictFlags |= DictFlags.Try1Null;
                    dictFlags &= ~DictFlags.Try0Null;
                    break;
                case 'c':
                    configDir = (g.Optarg ?? "");
                    Environment.SetEnvironmentVariable("MAIL_CONFIG", (g.Optarg ?? ""));
                    break;
                case 'd':
                    if (sequence || query != null || delkey != null)
                        Msg.Fatal("specify only one of -s -q or -d");
                    delkey = (g.Optarg ?? "");
                    break;
                case 'f':
                    dictFlags &= ~DictFlags.FoldFix;
                    break;
                case 'i':
                    openFlags &= ~DictOpenFlags.Truncate;
                    break;
                case 'n':
                    dictFlags |= DictFlags.Try0Null;
                    dictFlags &= ~DictFlags.Try1Null;
                    break;
                case 'o':
                    flags &= ~FlagAsOwner;
                    break;
                case 'p':
                    flags &= ~FlagSavePerm;
                    break;
                case 'q':
                    if (sequence || query != null || delkey != null)
                        Msg.Fatal("specify only one of -s -q or -d");
                    query = (g.Optarg ?? "");
                    break;
                case 'r':
                    dictFlags &= ~(DictFlags.DupWarn | DictFlags.DupIgnore);
                    dictFlags |= DictFlags.DupReplace;
                    break;
                case 's':
                    if (query != null || delkey != null)
                        Msg.Fatal("specify only one of -s or -q or -d");
                    sequence = true;
                    break;
                case 'u':
                    dictFlags &= ~DictFlags.Utf8Request;
                    break;
                case 'v':
                    Msg.Verbose++;
                    break;
                case 'w':
                    dictFlags &= ~(DictFlags.DupWarn | DictFlags.DupReplace);
                    dictFlags |= DictFlags.DupIgnore;
                    break;
                default:
                    Usage();
                    break;
            }
        }
        var conf = TableConfig.Init(configDir);
        myHostname = conf.Eval("myhostname");
        var maps = new List<string>(args[g.Optind..]);
        if (delkey != null)
        {
            if (maps.Count == 0)
                Usage();
            if (delkey == "-")
                return Deletes(maps, dictFlags | DictFlags.Lock) ? 0 : 1;
            var found = false;
            foreach (var m in maps)
            {
                DictOpen.SplitDefault(m, out var type, out var name);
                found |= Delete(type, name, delkey, dictFlags | DictFlags.Lock);
            }
            return found ? 0 : 1;
        }
        if (query != null)
        {
            if (maps.Count == 0)
                Usage();
            if (query == "-")
                return Queries(maps, dictFlags | DictFlags.Lock) ? 0 : 1;
            foreach (var m in maps)
            {
                DictOpen.SplitDefault(m, out var type, out var name);
                if (Query(type, name, query, dictFlags | DictFlags.Lock))
                    return 0;
            }
            return 1;
        }
        if (sequence)
        {
            if (maps.Count == 0)
                return 1;
            DictOpen.SplitDefault(maps[0], out var type, out var name);
            Sequence(type, name, dictFlags | DictFlags.Lock);
            return 0;
        }
        if (maps.Count == 0)
            Usage();
        foreach (var m in maps)
        {
            DictOpen.SplitDefault(m, out var type, out var name);
            Build(type, name, flags, openFlags, dictFlags);
        }
        return 0;
    }

    // Build - postalias(): aliases(5) source to table.
    private static void Build(string type, string path, int flags, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        Stream source;
        string sourcePath;
        if ((openFlags & DictOpenFlags.Truncate) == 0)
        {
            source = Stdin();
            sourcePath = "stdin";
        }
        else
        {
            if (type == DictOpen.TypeProxy)
                Msg.Fatal("can't create maps via the proxy service");
            dictFlags |= DictFlags.BulkUpdate;
            try
            {
                source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Msg.Fatal($"open {path}: {Sys.StrError(Sys.ErrnoOf(e))}");
                return;
            }
            sourcePath = path;
        }
        using (source)
        {
            var fd = source is FileStream fs ? (int)fs.SafeFileHandle.DangerousGetHandle() : 0;
            if (!DictSys.Fstat(fd, out var uid, out var gid, out var mode))
                Msg.Fatal($"fstat {path}: {Sys.LastError()}");
            var regular = (mode & 0xf000) == 0x8000;
            var savedMask = -1;
            if ((flags & FlagSavePerm) != 0 && regular)
                savedMask = Sys.Umask(0x12 | (~mode & 0x3f));
            if ((flags & FlagAsOwner) != 0 && Sys.GetUid() == 0
                && (uid != Sys.GetEuid() || gid != Sys.GetEgid()))
            {
                if (Sys.SetEgid(gid) < 0)
                    Msg.Fatal($"setegid({gid}): {Sys.LastError()}");
                if (Sys.SetEuid(uid) < 0)
                    Msg.Fatal($"seteuid({uid}): {Sys.LastError()}");
            }
            var mkmap = MkMap.Open(type, path, openFlags, dictFlags, source.CanSeek ? source.Length : 0);
            if (savedMask >= 0)
                Sys.Umask(savedMask);
            try
            {
                Load(mkmap, new DictLineReader(source, sourcePath));
                if ((openFlags & DictOpenFlags.Truncate) == 0)
                    SetFlags(mkmap.Dict, f => f | DictFlags.DupReplace);
                Append(mkmap, "@", "@");
                SetFlags(mkmap.Dict, f => (f & ~DictFlags.Try1Null) | DictFlags.Try0Null);
                SetFlags(mkmap.Dict, f => f & ~DictFlags.FoldFix);
                Append(mkmap, "YP_LAST_MODIFIED", Now().ToString("D10", CultureInfo.InvariantCulture));
                Append(mkmap, "YP_MASTER_NAME", myHostname);
                mkmap.Close();
            }
            catch (FatalException)
            {
                mkmap.Abort();
                throw;
            }
        }
    }

    // SetFlags - change the flags of the table and of any table it wraps.
    private static void SetFlags(Dict d, Func<DictFlags, DictFlags> change)
    {
        d.Flags = change(d.Flags);
        if (d is DictUtf8 u)
            u.Inner.Flags = change(u.Inner.Flags);
    }

    private static void Append(MkMap mkmap, string key, string value)
    {
        mkmap.Append(key, value);
        if (mkmap.Dict.Error != DictError.None)
            Msg.Fatal($"table {mkmap.Dict.Type}:{mkmap.Dict.Name}: write error: {TableMessages.ErrnoText(mkmap.Dict)}");
    }

    // Load - "name: value" entries, checked as postalias does.
    private static void Load(MkMap mkmap, DictLineReader reader)
    {
        var utf8 = (mkmap.Dict.Flags & DictFlags.Utf8Active) != 0;
        var path = reader.Path;
        while (reader.ReadLogical(out var raw, out var lineno))
        {
            if (utf8 && !DictText.IsAllAscii(raw) && !DictText.IsValidUtf8(raw))
            {
                Msg.Warn($"{path}, line {lineno}: non-UTF-8 input \"{DictText.Show(raw)}\" -- ignoring this line");
                continue;
            }
            var nul = raw.IndexOf((byte)0);
            var toks = Tok822.Scan(DictText.Decode(nul < 0 ? raw : raw[..nul]));
            if (toks.Count == 0)
                continue;
            var colon = toks.FindIndex(t => t.Type == TokType.Op && t.Op == ':');
            if (colon <= 0 || colon + 1 >= toks.Count || HasOp(toks, colon, ','))
            {
                Msg.Warn($"{path}, line {lineno}: need name:value pair");
                continue;
            }
            if (HasOp(toks, colon, '@') || HasOp(toks, colon, '%'))
            {
                Msg.Warn($"{path}, line {lineno}: name must be local");
                continue;
            }
            var key = Tok822.Internalize(toks, 0, colon);
            var value = Tok822.Externalize(toks, colon + 1, toks.Count);
            Append(mkmap, key, value);
        }
    }

    // HasOp - tok822_rfind_type() from the colon backwards.
    private static bool HasOp(List<Tok> toks, int colon, char op)
    {
        for (var i = colon; i >= 0; i--)
        {
            if (toks[i].Type == TokType.Op && toks[i].Op == op)
                return true;
        }
        return false;
    }

    private static Dict OpenForQuery(string spec, DictFlags dictFlags)
    {
        DictOpen.SplitDefault(spec, out var type, out var name);
        return DictOpen.Open3(type, name, DictOpenFlags.ReadOnly, dictFlags);
    }

    private static bool Query(string type, string name, string key, DictFlags dictFlags)
    {
        var dict = DictOpen.Open3(type, name, DictOpenFlags.ReadOnly, dictFlags);
        var value = dict.Lookup(key);
        if (value != null)
        {
            if (value.Length == 0)
                TableMessages.EmptyResult(type, name, key);
            ByteOut.Line(value);
        }
        if (dict.Error != DictError.None)
            Msg.Fatal($"table {dict.Type}:{dict.Name}: query error: {TableMessages.ErrnoText(dict)}");
        ByteOut.Flush();
        dict.Dispose();
        return value != null;
    }

    private static bool Queries(List<string> maps, DictFlags dictFlags)
    {
        var dicts = new Dict?[maps.Count];
        var found = false;
        using (var input = Stdin())
        {
            var lines = new StdinLines(input);
            while (lines.Next(out var raw))
            {
                var key = DictText.Decode(raw);
                for (var n = 0; n < maps.Count; n++)
                {
                    var d = dicts[n] ??= OpenForQuery(maps[n], dictFlags);
                    var value = d.Lookup(key);
                    if (value != null)
                    {
                        if (value.Length == 0)
                            TableMessages.EmptyResult(d.Type, d.Name, key);
                        ByteOut.Line(key + ":", value);
                        found = true;
                        break;
                    }
                    if (d.Error != DictError.None)
                        Msg.Fatal($"table {d.Type}:{d.Name}: query error: {TableMessages.ErrnoText(d)}");
                }
            }
        }
        if (found)
            ByteOut.Flush();
        foreach (var d in dicts)
            d?.Dispose();
        return found;
    }

    private static DictOpenFlags DeleteOpenFlags(string type) =>
        type == DictOpen.TypeProxy ? DictOpenFlags.ReadWrite | DictOpenFlags.Create : DictOpenFlags.ReadWrite;

    private static bool Delete(string type, string name, string key, DictFlags dictFlags)
    {
        var dict = DictOpen.Open3(type, name, DeleteOpenFlags(type), dictFlags);
        var status = dict.Delete(key);
        if (dict.Error != DictError.None)
            Msg.Fatal($"table {dict.Type}:{dict.Name}: delete error: {TableMessages.ErrnoText(dict)}");
        dict.Dispose();
        return status == DictStatus.Success;
    }

    private static bool Deletes(List<string> maps, DictFlags dictFlags)
    {
        var dicts = new List<Dict>();
        foreach (var m in maps)
        {
            DictOpen.SplitDefault(m, out var type, out var name);
            dicts.Add(DictOpen.Open3(type, name, DeleteOpenFlags(type), dictFlags));
        }
        var found = false;
        using (var input = Stdin())
        {
            var lines = new StdinLines(input);
            while (lines.Next(out var raw))
            {
                var key = DictText.Decode(raw);
                foreach (var d in dicts)
                {
                    found |= d.Delete(key) == DictStatus.Success;
                    if (d.Error != DictError.None)
                        Msg.Fatal($"table {d.Type}:{d.Name}: delete error: {TableMessages.ErrnoText(d)}");
                }
            }
        }
        foreach (var d in dicts)
            d.Dispose();
        return found;
    }

    private static void Sequence(string type, string name, DictFlags dictFlags)
    {
        if (type == DictOpen.TypeProxy)
            Msg.Fatal("can't sequence maps via the proxy service");
        var dict = DictOpen.Open3(type, name, DictOpenFlags.ReadOnly, dictFlags);
        for (var f = DictSeq.First; ; f = DictSeq.Next)
        {
            if (dict.Sequence(f, out var key, out var value) != DictStatus.Success)
                break;
            if (key.Length == 0)
                Msg.Warn($"table {type}:{name}: empty lookup key value is not allowed");
            else if (value.Length == 0)
                TableMessages.EmptyResult(type, name, key);
            ByteOut.Line(key + ":", value);
        }
        if (dict.Error != DictError.None)
            Msg.Fatal($"table {dict.Type}:{dict.Name}: sequence error: {TableMessages.ErrnoText(dict)}");
        ByteOut.Flush();
        dict.Dispose();
    }
}
