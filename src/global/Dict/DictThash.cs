// NAME
//	DictThash - texthash: a postmap source file read into memory at open
// POSTFIX
//	src/util/dict_thash.c
// DESCRIPTION
//	Same input syntax as postmap: "key whitespace value", continuation
//	lines, quoted keys left quoted. Duplicates follow -r/-w, default:
//	warn and keep the first. Read-only.
using System;
using System.IO;
using System.Threading;
using Postfix.Util;

namespace Postfix.Global.Dict;

public static class DictThash
{
    public const string TypeName = "texthash";

    public static Dict Open(string path, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (openFlags != DictOpenFlags.ReadOnly)
            return DictSurrogate.Create(TypeName, path, openFlags, dictFlags, $"{TypeName}:{path} map requires O_RDONLY access mode");
        // Read the file again while it is still being written ("hot").
        for (;;)
        {
            var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var dict = Load(path, openFlags, dictFlags, out var failure, out var mtime);
            if (dict == null)
                return failure!; // set whenever Load returns null
            var after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (mtime < before - 1 || mtime > after)
                return dict;
            if (Msg.Verbose > 1)
                Msg.Info($"pausing to let file {path} cool down");
            Thread.Sleep(300);
        }
    }

    private static DictHt? Load(string path, DictOpenFlags openFlags, DictFlags dictFlags, out Dict? failure, out long mtime)
    {
        failure = null;
        mtime = 0;
        FileStream fp;
        try
        {
            fp = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = DictSurrogate.Create(TypeName, path, openFlags, dictFlags, $"open database {path}: {Sys.StrError(Sys.ErrnoOf(e))}");
            return null;
        }
        var dict = new DictHt(TypeName, path, openFlags, dictFlags);
        if (DictOpen.NeedUtf8(dictFlags))
            dict.Flags |= DictFlags.Utf8Active;
        using (fp)
        {
            var reader = new DictLineReader(fp, path);
            while (reader.ReadLogical(out var line, out var lineno))
            {
                if ((dict.Flags & DictFlags.Utf8Active) != 0 && !DictText.IsAllAscii(line) && !DictText.IsValidUtf8(line))
                {
                    Msg.Warn($"{path}, line {lineno}: non-UTF-8 input \"{DictText.Show(line)}\" -- ignoring this line");
                    continue;
                }
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
                    Msg.Warn($"{path}, line {lineno}: expected format: key whitespace value -- ignoring this line");
                    continue;
                }
                var key = DictText.Decode(line[..keyEnd]);
                var value = DictText.Decode(line[vs..ve]);
                if (key.EndsWith(':'))
                    Msg.Warn($"{path}, line {lineno}: record is in \"key: value\" format; is this an alias file?");
                if ((dictFlags & DictFlags.SrcRhsIsFile) != 0)
                {
                    var b64 = DictFile.ToBase64(value, out var err);
                    if (b64 == null)
                    {
                        Msg.Warn($"{path}, line {lineno}: {err}: skipping this entry");
                        continue;
                    }
                    value = b64;
                }
                if (dict.Lookup(key) != null)
                {
                    if ((dictFlags & DictFlags.DupIgnore) != 0)
                    {
                    }
                    else if ((dictFlags & DictFlags.DupReplace) != 0)
                        dict.Update(key, value);
                    else if ((dictFlags & DictFlags.DupWarn) != 0)
                        Msg.Warn($"{path}, line {lineno}: duplicate entry: \"{DictText.Show(key)}\"");
                    else
                    {
                        failure = DictSurrogate.Create(TypeName, path, openFlags, dictFlags, $"{path}, line {lineno}: duplicate entry: \"{DictText.Show(key)}\"");
                        return null;
                    }
                }
                else
                    dict.Update(key, value);
            }
            mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds();
        }
        return dict;
    }
}
