// NAME
//	Postmap - create, query and update lookup tables
// POSTFIX
//	src/postmap/postmap.c
// DESCRIPTION
//	Without -q/-d/-s each operand is a source file "key whitespace
//	value" that is built into a table (type:file, or file of
//	$default_database_type). -q looks a key up (first table that has
//	it wins); "-q -" reads keys from stdin, or with -b/-h a message
//	whose body lines / headers are the keys. -d deletes, -s dumps.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Commands.Postmap;

internal static partial class Postmap
{
    private const int FlagAsOwner = 1 << 0;
    private const int FlagSavePerm = 1 << 1;
    private const int FlagHeaderKey = 1 << 2;
    private const int FlagBodyKey = 1 << 3;
    private const int FlagMimeKey = 1 << 4;
    private const int FlagHbKey = FlagHeaderKey | FlagBodyKey;
    private const int FlagAnyKey = FlagHbKey | FlagMimeKey;

    // Stdin - where "-q -", "-d -" and "-i" read (tests replace it).
    internal static Func<Stream> Stdin { get; set; } = Console.OpenStandardInput;

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Usage() =>
        Msg.Fatal($"usage: {Msg.Tag} [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...");

    public static int Run(string[] args)
    {
        var status = RunOptions(args);
        ByteOut.Flush();
        return status;
    }

    internal static int RunOptions(string[] args)
    {
        var postmapFlags = FlagAsOwner | FlagSavePerm;
        var openFlags = DictOpenFlags.ReadWrite | DictOpenFlags.Create | DictOpenFlags.Truncate;
        var dictFlags = DictFlags.DupWarn | DictFlags.FoldFix | DictFlags.Utf8Request;
        string? query = null;
        string? delkey = null;
        string? configDir = null;
        var sequence = false;
        var forceUtf8 = false;
        var g = new GetOpt(args, "bc:d:fFhimnNopq:rsuUvw", Msg.Tag);
        int ch;
        while ((ch = g.Next()) > 0)
        {
            switch (ch)
            {
                case 'N':
                    dictFlags |= DictFlags.Try1Null;
                    dictFlags &= ~DictFlags.Try0Null;
                    break;
                case 'b':
                    postmapFlags |= FlagBodyKey;
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
                case 'F':
                    dictFlags |= DictFlags.SrcRhsIsFile;
                    break;
                case 'h':
                    postmapFlags |= FlagHeaderKey;
                    break;
                case 'i':
                    openFlags &= ~DictOpenFlags.Truncate;
                    break;
                case 'm':
                    postmapFlags |= FlagMimeKey;
                    break;
                case 'n':
                    dictFlags |= DictFlags.Try0Null;
                    dictFlags &= ~DictFlags.Try1Null;
                    break;
                case 'o':
                    postmapFlags &= ~FlagAsOwner;
                    break;
                case 'p':
                    postmapFlags &= ~FlagSavePerm;
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
                case 'U':
                    forceUtf8 = true;
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
        TableConfig.Init(configDir);
        if (query != "-" && (postmapFlags & FlagAnyKey) != 0)
            Msg.Fatal("specify -b -h or -m only with \"-q -\"");
        if ((postmapFlags & FlagAnyKey) != 0 && (postmapFlags & FlagAnyKey) == (postmapFlags & FlagMimeKey))
            Msg.Warn("ignoring -m option without -b or -h");
        if ((postmapFlags & (FlagAnyKey & ~FlagMimeKey)) != 0 && !forceUtf8)
            dictFlags &= ~(DictFlags.Utf8Request | DictFlags.Utf8Active);

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
                return Queries(maps, postmapFlags, dictFlags | DictFlags.Lock) ? 0 : 1;
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
            Build(type, name, postmapFlags, openFlags, dictFlags);
        }
        return 0;
    }

    // QueryError - fatal after a lookup error.
    private static void QueryError(Dict d)
    {
        switch (d.Error)
        {
            case DictError.None:
                break;
            case DictError.Config:
                Msg.Fatal($"table {d.Type}:{d.Name}: query error");
                break;
            default:
                Msg.Fatal($"table {d.Type}:{d.Name}: query error: {TableMessages.ErrnoText(d)}");
                break;
        }
    }

    private static string? Get(Dict d, string key, DictFlags dictFlags) =>
        (dictFlags & DictFlags.SrcRhsIsFile) != 0 ? DictFile.Lookup(d, key) : d.Lookup(key);

    // Query - postmap_query(): one key, one table.
    private static bool Query(string type, string name, string key, DictFlags dictFlags)
    {
        var dict = DictOpen.Open3(type, name, DictOpenFlags.ReadOnly, dictFlags);
        var value = Get(dict, key, dictFlags);
        if (value != null)
        {
            if (value.Length == 0)
                TableMessages.EmptyResult(type, name, key);
            ByteOut.Line(value);
        }
        QueryError(dict);
        ByteOut.Flush();
        dict.Dispose();
        return value != null;
    }

    // Queries - postmap_queries(): keys from stdin, tables opened when first needed.
    private static bool Queries(List<string> maps, int postmapFlags, DictFlags dictFlags)
    {
        var dicts = new Dict?[maps.Count];
        var found = false;
        using var input = Stdin();
        if ((postmapFlags & FlagHbKey) == 0)
        {
            var lines = new StdinLines(input);
            var byteValues = (dictFlags & DictFlags.SrcRhsIsFile) == 0;
            while (lines.Next(out var raw))
            {
                string? key = null;
                for (var n = 0; n < maps.Count; n++)
                {
                    var d = dicts[n] ??= OpenForQuery(maps[n], dictFlags);
                    if (byteValues && d.CanLookupBytes)
                    {
                        // Fast path: bytes in, bytes out, nothing decoded.
                        if (d.LookupBytes(raw, out var bytes))
                        {
                            if (bytes.Length == 0)
                                TableMessages.EmptyResult(d.Type, d.Name, DictText.Decode(raw));
                            ByteOut.Write(raw);
                            ByteOut.Write("\t"u8);
                            ByteOut.Write(bytes);
                            ByteOut.Write("\n"u8);
                            found = true;
                            break;
                        }
                        QueryError(d);
                        continue;
                    }
                    key ??= DictText.Decode(raw);
                    var value = Get(d, key, dictFlags);
                    if (value != null)
                    {
                        if (value.Length == 0)
                            TableMessages.EmptyResult(d.Type, d.Name, key);
                        ByteOut.Write(raw);
                        ByteOut.Write("\t"u8);
                        ByteOut.Write(value);
                        ByteOut.Write("\n"u8);
                        found = true;
                        break;
                    }
                    QueryError(d);
                }
            }
        }
        else
            found = ScanMessage(input, maps, dicts, postmapFlags, dictFlags);
        if (found)
            ByteOut.Flush();
        foreach (var d in dicts)
            d?.Dispose();
        return found;
    }

    private static Dict OpenForQuery(string spec, DictFlags dictFlags)
    {
        DictOpen.SplitDefault(spec, out var type, out var name);
        return DictOpen.Open3(type, name, DictOpenFlags.ReadOnly, dictFlags);
    }

    // Delete - postmap_delete().
    private static bool Delete(string type, string name, string key, DictFlags dictFlags)
    {
        var openFlags = type == DictOpen.TypeProxy ? DictOpenFlags.ReadWrite | DictOpenFlags.Create : DictOpenFlags.ReadWrite;
        var dict = DictOpen.Open3(type, name, openFlags, dictFlags);
        var status = dict.Delete(key);
        if (dict.Error != DictError.None)
            Msg.Fatal($"table {dict.Type}:{dict.Name}: delete error: {TableMessages.ErrnoText(dict)}");
        dict.Dispose();
        return status == DictStatus.Success;
    }

    // Deletes - postmap_deletes(): keys from stdin, every table.
    private static bool Deletes(List<string> maps, DictFlags dictFlags)
    {
        var dicts = new List<Dict>();
        foreach (var m in maps)
        {
            DictOpen.SplitDefault(m, out var type, out var name);
            var openFlags = type == DictOpen.TypeProxy ? DictOpenFlags.ReadWrite | DictOpenFlags.Create : DictOpenFlags.ReadWrite;
            dicts.Add(DictOpen.Open3(type, name, openFlags, dictFlags));
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

    // Sequence - postmap_seq(): dump every entry.
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
            if ((dictFlags & DictFlags.SrcRhsIsFile) != 0)
            {
                var decoded = DictFile.FromBase64(value, out var err);
                if (decoded == null)
                {
                    Msg.Warn($"table {dict.Type}:{dict.Name}: key {key}: {err}");
                    continue;
                }
                value = decoded;
            }
            ByteOut.Line(key, value);
        }
        if (dict.Error != DictError.None)
            Msg.Fatal($"table {dict.Type}:{dict.Name}: sequence error: {TableMessages.ErrnoText(dict)}");
        ByteOut.Flush();
        dict.Dispose();
    }
}
