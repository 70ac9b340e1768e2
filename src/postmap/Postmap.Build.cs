// NAME
//	Postmap.Build - build a table from its source file
// POSTFIX
//	src/postmap/postmap.c (postmap)
// DESCRIPTION
//	Reads logical lines "key whitespace value" (quoted keys stay
//	quoted), checks them as Postfix does, and appends them through
//	MkMap. In incremental mode (-i) the entries come from stdin and
//	the table is updated in place. A fatal error part-way leaves the
//	old table untouched.
using System;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Commands.Postmap;

internal static partial class Postmap
{
    private static void Build(string type, string path, int postmapFlags, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        Stream source;
        string sourcePath;
        var incremental = (openFlags & DictOpenFlags.Truncate) == 0;
        if (incremental)
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
            // The table gets no more group/other read access than the source.
            if ((postmapFlags & FlagSavePerm) != 0 && regular)
                savedMask = Sys.Umask(0x12 | (~mode & 0x3f));
            // Run as the owner of the source, so the table gets that owner.
            if ((postmapFlags & FlagAsOwner) != 0 && Sys.GetUid() == 0
                && (uid != Sys.GetEuid() || gid != Sys.GetEgid()))
                SetEugid(uid, gid);
            var mkmap = MkMap.Open(type, path, openFlags, dictFlags, source.CanSeek ? source.Length : 0);
            if (savedMask >= 0)
                Sys.Umask(savedMask);
            try
            {
                Load(mkmap, new DictLineReader(source, sourcePath), dictFlags);
                mkmap.Close();
            }
            catch (FatalException)
            {
                mkmap.Abort();
                throw;
            }
        }
    }

    // SetEugid - set_eugid(): effective ids of the source file's owner.
    private static void SetEugid(uint uid, uint gid)
    {
        if (Sys.GetEuid() != 0 && Sys.SetEuid(0) < 0)
            Msg.Fatal($"seteuid(0): {Sys.LastError()}");
        if (Sys.SetEgid(gid) < 0)
            Msg.Fatal($"setegid({gid}): {Sys.LastError()}");
        if (Sys.SetEuid(uid) < 0)
            Msg.Fatal($"seteuid({uid}): {Sys.LastError()}");
        if (Msg.Verbose > 0)
            Msg.Info($"set_eugid: euid {uid} egid {gid}");
    }

    // Load - the read-check-append loop.
    private static void Load(MkMap mkmap, DictLineReader reader, DictFlags dictFlags)
    {
        var utf8 = (mkmap.Dict.Flags & DictFlags.Utf8Active) != 0;
        var path = reader.Path;
        while (reader.ReadLogical(out var line, out var lineno))
        {
            if (utf8 && !DictText.IsAllAscii(line) && !DictText.IsValidUtf8(line))
            {
                Msg.Warn($"{path}, line {lineno}: non-UTF-8 input \"{DictText.Show(line)}\" -- ignoring this line");
                continue;
            }
            // The C code sees the line as a string: it ends at a null byte.
            var nul = line.IndexOf((byte)0);
            if (nul >= 0)
                line = line[..nul];
            if (!DictParse.SplitKeyValue(line, out var keyEnd, out var vs, out var ve))
            {
                Msg.Warn($"{path}, line {lineno}: unbalanced '\"' in '{DictText.Show(line)}' -- ignoring this line");
                continue;
            }
            if (keyEnd == 0 || ve <= vs)
            {
                Msg.Warn($"{path}, line {lineno}: expected format: key whitespace value");
                continue;
            }
            var key = line[..keyEnd];
            var value = line[vs..ve];
            if (key[^1] == (byte)':')
                Msg.Warn($"{path}, line {lineno}: record is in \"key: value\" format; is this an alias file?");
            if ((dictFlags & DictFlags.SrcRhsIsFile) != 0)
            {
                var b64 = DictFile.ToBase64(DictText.Decode(value), out var err);
                if (b64 == null)
                {
                    Msg.Warn($"{path}, line {lineno}: {err}: skipping this entry");
                    continue;
                }
                mkmap.Append(DictText.Decode(key), b64);
            }
            else
                mkmap.AppendBytes(key, value);
            if (mkmap.Dict.Error != DictError.None)
                Msg.Fatal($"table {mkmap.Dict.Type}:{mkmap.Dict.Name}: write error: {TableMessages.ErrnoText(mkmap.Dict)}");
        }
    }
}
