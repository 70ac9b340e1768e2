// NAME
//	Postconf (edit) - change main.cf and master.cf in place
// POSTFIX
//	src/postconf/postconf_edit.c, src/util/edit_file.c
// DESCRIPTION
//	The file is copied line by line to "file.tmp"; comments, blank lines
//	and untouched entries pass through byte for byte, matching entries
//	are replaced, commented out or dropped. New main.cf parameters go at
//	the end, in Postfix's hash-table order; new master.cf services too.
//	The temporary file is created mode 0600 and locked, then made 0644,
//	synced and renamed over the original: an error leaves the original
//	as it was.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    public const string MainConfFile = "main.cf";
    private const string EditFileSuffix = ".tmp";
    private const string MasterEditOptions = "-Me, -Fe, -Pe, -X, or -#";

    // IsSpace - C isspace() in the C locale.
    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    private static int SkipSpace(string s, int i)
    {
        while (i < s.Length && IsSpace(s[i]))
            i++;
        return i;
    }

    // MainEditRequest - a main.cf edit: the value to set (null for -X and -#).
    private sealed class MainEditRequest
    {
        public string? Value;
        public int Found;
    }

    // EditMain - postconf -e name=value..., -X name..., -# name...
    public static void EditMain(Mode mode, string[] args)
    {
        try
        {
            EditMainFile(mode, args);
        }
        finally
        {
            textEncoding = new UTF8Encoding(false);
        }
    }

    private static void EditMainFile(Mode mode, string[] args)
    {
        var path = ConfigDir + "/" + MainConfFile;
        var table = new ChainedTable<MainEditRequest>(args.Length);
        foreach (var arg in args)
        {
            if (arg.Contains('\n', StringComparison.Ordinal))
                Msg.Fatal("-e, -X, or -# accepts no multi-line input");
            var cp = arg[SkipSpace(arg, 0)..];
            if (cp.StartsWith('#'))
                Msg.Fatal("-e, -X, or -# accepts no comment input");
            string pattern;
            string? editValue;
            if ((mode & Mode.EditConf) != 0)
            {
                var err = NameValue.Split(cp, out pattern, out var value);
                if (err != null)
                    Msg.Fatal($"{err}: \"{cp}\"");
                editValue = value;
            }
            else if ((mode & (Mode.CommentOut | Mode.EditExcl)) != 0)
            {
                if (cp.Length == 0)
                    Msg.Fatal("-X or -# requires non-blank parameter names");
                if (cp.Contains('=', StringComparison.Ordinal))
                    Msg.Fatal("-X or -# requires parameter names without value");
                // Postfix's trimblanks() call here has no effect: trailing
                // blanks stay part of the name, which then matches nothing.
                pattern = cp;
                editValue = null;
            }
            else
            {
                Msg.Panic($"pcf_edit_main: unknown mode {(int)mode}");
                return;
            }
            var earlier = table.Find(pattern);
            if (earlier != null)
            {
                // Postfix crashes here for -X/-# (it prints a null value).
                Msg.Warn($"ignoring earlier request: '{pattern} = {earlier.Value ?? "(null)"}'");
                table.Delete(pattern);
            }
            table.Enter(pattern, new MainEditRequest { Value = editValue });
        }

        var edit = EditFile.Open(path);
        var src = ReadForEdit(path, edit);
        var dst = new StringBuilder(src.Length + 100);
        var interesting = false;
        var pos = 0;
        while (NextCfLine(src, ref pos, dst, out var line, out var cp))
        {
            if (cp > 0)
            {
                // Continuation of the logical line before.
                if (!interesting)
                    dst.Append(line);
                else if ((mode & Mode.CommentOut) != 0)
                    dst.Append('#').Append(line);
                continue;
            }
            var keyEnd = 0;
            while (keyEnd < line.Length && " \t\r\n=".IndexOf(line[keyEnd]) < 0)
                keyEnd++;
            var key = line[..keyEnd];
            var req = table.Find(key);
            interesting = req != null;
            if (req == null)
            {
                dst.Append(line);
                continue;
            }
            if (req.Found++ == 1)
                Msg.Warn($"{path}: multiple entries for \"{key}\"");
            if ((mode & Mode.EditConf) != 0)
                dst.Append(key).Append(" = ").Append(ToFileText(req.Value ?? "")).Append('\n');
            else if ((mode & Mode.CommentOut) != 0)
                dst.Append('#').Append(line);
        }

        if ((mode & Mode.EditConf) != 0)
        {
            foreach (var (name, req) in table.List())
            {
                if (req.Found == 0)
                    dst.Append(ToFileText(name)).Append(" = ").Append(ToFileText(req.Value ?? "")).Append('\n');
            }
        }
        edit.Commit(textEncoding.GetBytes(dst.ToString()));
    }

    // MasterEditRequest - one -Me/-Fe/-Pe/-MX/-M#/-PX argument, parsed.
    private sealed class MasterEditRequest
    {
        public int MatchCount;
        public string RawText = "";
        public string[] ServicePattern = Array.Empty<string>();
        public int FieldNumber;
        public string ParamPattern = "";
        public string? EditValue;
    }

    // EditMaster - postconf -Me/-Fe/-Pe name/type...=value, -MX/-M#/-PX name/type...
    public static void EditMaster(Mode mode, string[] args)
    {
        try
        {
            EditMasterFile(mode, args);
        }
        finally
        {
            textEncoding = new UTF8Encoding(false);
        }
    }

    private static void EditMasterFile(Mode mode, string[] args)
    {
        const Mode masterMask = Mode.MasterEntry | Mode.MasterFld | Mode.MasterParam;
        if (args.Length == 0)
            Msg.Panic("pcf_edit_master: empty argument list");

        var reqs = new List<MasterEditRequest>();
        foreach (var arg in args)
        {
            var req = new MasterEditRequest { RawText = arg };
            if (arg.Contains('\n', StringComparison.Ordinal))
                Msg.Fatal($"{MasterEditOptions} accept no multi-line input");
            var cp = arg[SkipSpace(arg, 0)..];
            if (cp.StartsWith('#'))
                Msg.Fatal($"{MasterEditOptions} accept no comment input");
            string pattern;
            if ((mode & Mode.EditConf) != 0)
            {
                var err = NameValue.Split(cp, out pattern, out var value);
                if (err != null)
                    Msg.Fatal($"{err}: \"{arg}\"");
                req.EditValue = value;
            }
            else if ((mode & (Mode.CommentOut | Mode.EditExcl)) != 0)
            {
                if (cp.Contains('=', StringComparison.Ordinal))
                    Msg.Fatal("-X or -# requires names without value");
                pattern = cp; // trailing blanks kept, as in Postfix
            }
            else
            {
                Msg.Panic($"pcf_edit_master: unknown mode {(int)mode}");
                return;
            }

            switch (mode & masterMask)
            {
                case Mode.MasterEntry:
                    var entryPattern = ParseServicePattern(pattern, 2, 2);
                    if (entryPattern == null)
                        Msg.Fatal("-Me, -MX or -M# requires service_name/type");
                    req.ServicePattern = entryPattern;
                    break;
                case Mode.MasterFld:
                    var fieldPattern = ParseServicePattern(pattern, 3, 3);
                    if (fieldPattern == null)
                        Msg.Fatal("-Fe or -FX requires service_name/type/field_name");
                    req.ServicePattern = fieldPattern;
                    req.FieldNumber = ParseFieldPattern(req.ServicePattern[2]);
                    if (IsMagicFieldPattern(req.FieldNumber))
                        Msg.Fatal("-Fe does not accept wild-card field name");
                    if ((mode & Mode.EditConf) != 0 && req.FieldNumber < MasterField.Command
                        && HasBlank(req.EditValue ?? ""))
                        Msg.Fatal("-Fe does not accept whitespace in non-command field");
                    break;
                case Mode.MasterParam:
                    var paramPattern = ParseServicePattern(pattern, 3, 3);
                    if (paramPattern == null)
                        Msg.Fatal("-Pe or -PX requires service_name/type/parameter");
                    req.ServicePattern = paramPattern;
                    req.ParamPattern = req.ServicePattern[2];
                    if (MatchAny(req.ParamPattern))
                        Msg.Fatal("-Pe does not accept wild-card parameter name");
                    if ((mode & Mode.EditConf) != 0 && HasBlank(req.EditValue ?? ""))
                        Msg.Fatal("-Pe does not accept whitespace in parameter value");
                    break;
                default:
                    Msg.Panic($"pcf_edit_master: unknown edit mode {(int)mode}");
                    break;
            }
            reqs.Add(req);
        }

        var path = ConfigDir + "/" + MasterConfFile;
        var edit = EditFile.Open(path);
        var src = ReadForEdit(path, edit);
        foreach (var req in reqs)
        {
            if (req.EditValue != null)
                req.EditValue = ToFileText(req.EditValue);
        }
        var dst = new StringWriter(new StringBuilder(src.Length + 100)) { NewLine = "\n" };
        var sb = dst.GetStringBuilder();
        var matched = false;
        MasterEntry? newEntry = null;
        var lineno = 0;
        var pos = 0;
        var wholeEntry = (mode & Mode.MasterEntry) != 0 && (mode & Mode.EditConf) != 0;
        while (NextCfLine(src, ref pos, sb, out var line, out var cp, ref lineno))
        {
            if (cp > 0)
            {
                // Continuation of the entry before.
                if (!matched)
                    sb.Append(line);
                else if ((mode & Mode.CommentOut) != 0)
                    sb.Append('#').Append(line);
                continue;
            }
            matched = false;
            var tokenPos = 0;
            var serviceName = NextToken(line, ref tokenPos);
            var serviceType = serviceName == null ? null : NextToken(line, ref tokenPos);
            if (serviceName == null || serviceType == null)
                Msg.Fatal($"file {path}: line {lineno}: specify service name and type on the same line");
            if (serviceName.Contains('=', StringComparison.Ordinal))
                Msg.Fatal($"file {path}: line {lineno}: service name syntax \"{serviceName}\" is unsupported with {MasterEditOptions}");
            if (serviceType.AsSpan().IndexOfAny("=/") >= 0)
                Msg.Fatal($"file {path}: line {lineno}: service type syntax \"{serviceType}\" is unsupported with {MasterEditOptions}");

            // A whole-entry request replaces an entry that matches its pattern
            // or that has the new entry's name and type, at the first such
            // entry only; unmatched requests are appended at the end.
            foreach (var req in reqs)
            {
                MasterEntry? tentative = null;
                var useTentative = false;
                if (wholeEntry)
                {
                    tentative = new MasterEntry();
                    var err = ParseMasterEntry(tentative, req.EditValue ?? "");
                    if (err != null)
                        Msg.Fatal($"{err}: \"{req.RawText}\"");
                }
                if (MatchServicePattern(req.ServicePattern, serviceName, serviceType))
                {
                    matched = true;
                    req.MatchCount++;
                    if ((mode & Mode.EditConf) != 0
                        || ((mode & Mode.MasterParam) != 0 && (mode & Mode.EditExcl) != 0))
                    {
                        switch (mode & masterMask)
                        {
                            case Mode.MasterFld:
                            case Mode.MasterParam:
                                if (newEntry == null)
                                {
                                    var full = GobbleCfLine(src, ref pos, sb, line);
                                    newEntry = new MasterEntry();
                                    var err = ParseMasterEntry(newEntry, full);
                                    if (err != null)
                                        Msg.Fatal($"file {path}: line {lineno}: {err}");
                                }
                                if ((mode & Mode.MasterFld) != 0)
                                    EditMasterField(newEntry, req.FieldNumber, req.EditValue ?? "");
                                else
                                    EditMasterParam(newEntry, mode, req.ParamPattern, req.EditValue ?? "");
                                break;
                            case Mode.MasterEntry:
                                if (req.MatchCount == 1)
                                    useTentative = true;
                                break;
                            default:
                                Msg.Panic($"pcf_edit_master: unknown edit mode {(int)mode}");
                                break;
                        }
                    }
                }
                else if (tentative != null
                         && MatchString(tentative.Argv[0], serviceName)
                         && MatchString(tentative.Argv[1], serviceType))
                {
                    matched = true;
                    req.MatchCount++;
                    if (req.MatchCount == 1)
                        useTentative = true;
                }
                if (useTentative)
                    newEntry = tentative;
            }

            if (newEntry != null)
            {
                PrintMasterEntry(dst, Mode.FoldLine, newEntry);
                newEntry = null;
            }
            else if (!matched)
            {
                sb.Append(line);
            }
            else if ((mode & Mode.CommentOut) != 0)
            {
                sb.Append('#').Append(line);
            }
        }

        foreach (var req in reqs)
        {
            if (req.MatchCount != 0)
                continue;
            if (wholeEntry)
            {
                var entry = new MasterEntry();
                var err = ParseMasterEntry(entry, req.EditValue ?? "");
                if (err != null)
                    Msg.Fatal($"{err}: \"{req.RawText}\"");
                PrintMasterEntry(dst, Mode.FoldLine, entry);
            }
            else if ((mode & Mode.MasterEntry) == 0)
            {
                Msg.Warn($"unmatched service_name/type: \"{req.RawText}\"");
            }
        }
        edit.Commit(textEncoding.GetBytes(sb.ToString()));
    }

    // NextToken - mystrtok() on master.cf blanks.
    private static string? NextToken(string s, ref int pos)
    {
        while (pos < s.Length && IsBlank(s[pos]))
            pos++;
        if (pos >= s.Length)
            return null;
        var start = pos;
        while (pos < s.Length && !IsBlank(s[pos]))
            pos++;
        return s[start..pos];
    }

    // ReadLine - next physical line with its newline (none at EOF), or null.
    private static string? ReadLine(string src, ref int pos)
    {
        if (pos >= src.Length)
            return null;
        var nl = src.IndexOf('\n', pos);
        var end = nl < 0 ? src.Length : nl + 1;
        var line = src[pos..end];
        pos = end;
        return line;
    }

    // CfInfo - index of the first non-space character of a content line, or
    // -1 for a comment, blank or empty line (which is copied to dst).
    private static int CfInfo(string line, StringBuilder dst)
    {
        var cp = SkipSpace(line, 0);
        if (cp == line.Length || line[cp] == '#')
        {
            dst.Append(line);
            return -1;
        }
        return cp;
    }

    // NextCfLine - next content line; other lines go straight to dst.
    private static bool NextCfLine(string src, ref int pos, StringBuilder dst, out string line, out int cp)
    {
        var lineno = 0;
        return NextCfLine(src, ref pos, dst, out line, out cp, ref lineno);
    }

    private static bool NextCfLine(string src, ref int pos, StringBuilder dst, out string line, out int cp, ref int lineno)
    {
        string? next;
        while ((next = ReadLine(src, ref pos)) != null)
        {
            lineno++;
            cp = CfInfo(next, dst);
            if (cp >= 0)
            {
                line = next;
                return true;
            }
        }
        line = "";
        cp = -1;
        return false;
    }

    // GobbleCfLine - join an entry's continuation lines; comments inside the
    // entry go to dst. (Postfix does not count these lines in its line numbers.)
    private static string GobbleCfLine(string src, ref int pos, StringBuilder dst, string first)
    {
        var full = new StringBuilder(first);
        while (pos < src.Length && (src[pos] == '#' || IsSpace(src[pos])))
        {
            var line = ReadLine(src, ref pos)!; // pos < src.Length: a line is there
            if (CfInfo(line, dst) >= 0)
                full.Append(line);
        }
        return full.ToString();
    }

    // ReadForEdit - the original file as text, in the encoding its bytes allow.
    private static string ReadForEdit(string path, EditFile edit)
    {
        byte[] data;
        try
        {
            data = ReadAllBytesUnlocked(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Postfix opens a directory fine and fails on the first read,
            // after its edit: the temporary file stays behind.
            if (Directory.Exists(path))
                Msg.Fatal($"read {path}: {Sys.StrError(Sys.EISDIR)}");
            // The temporary name is ours alone: remove it.
            Sys.Unlink(edit.TmpPath);
            Msg.Fatal($"open {path} for reading: {Sys.StrError(ErrnoOf(e, path))}");
            return "";
        }
        try
        {
            textEncoding = new UTF8Encoding(false, true);
            return textEncoding.GetString(data);
        }
        catch (DecoderFallbackException)
        {
            // Not UTF-8: keep every byte as one Latin-1 character.
            textEncoding = Encoding.Latin1;
            return textEncoding.GetString(data);
        }
    }

    // ReadAllBytesUnlocked - File.ReadAllBytes() without failing on a lock.
    // .NET takes a non-blocking shared flock() when it opens a file; a
    // concurrent editor holds an exclusive one on the file it has just
    // renamed into place, for a moment. Postfix takes no lock to read.
    public static byte[] ReadAllBytesUnlocked(string path)
    {
        for (var tries = 0; ; tries++)
        {
            try
            {
                return File.ReadAllBytes(path);
            }
            catch (IOException e) when (Sys.ErrnoOf(e) == EditFile.EWouldBlock && tries < 1000)
            {
                Thread.Sleep(10);
            }
        }
    }

    // ErrnoOf - errno of a failed open; .NET reports EISDIR as access denied.
    private static int ErrnoOf(Exception e, string path) =>
        e is UnauthorizedAccessException && Directory.Exists(path) ? Sys.EISDIR : Sys.ErrnoOf(e);

    // ToFileText - command-line text in the file's encoding.
    private static string ToFileText(string text) =>
        textEncoding is UTF8Encoding ? text : Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text));

    // EditFile - edit_file(3): "path.tmp", locked, renamed into place.
    private sealed class EditFile
    {
        private const UnixFileMode TmpMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        private const int FinalMode = 0x1a4; // 0644
        public const int EWouldBlock = 11;

        public readonly string FinalPath;
        public readonly string TmpPath;
        private FileStream? stream;

        private EditFile(string path)
        {
            FinalPath = path;
            TmpPath = path + EditFileSuffix;
        }

        // Open - create or reuse the temporary file, with an exclusive lock.
        public static EditFile Open(string path)
        {
            var ep = new EditFile(path);
            for (;;)
            {
                FileStream fs;
                var options = new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.Write,
                    // .NET adds its own non-blocking flock() (exclusive for
                    // FileShare.None); below we wait for it as flock() would.
                    Share = FileShare.None,
                };
                if (!OperatingSystem.IsWindows())
                    options.UnixCreateMode = TmpMode;
                try
                {
                    fs = new FileStream(ep.TmpPath, options);
                }
                catch (IOException e) when (Sys.ErrnoOf(e) == EWouldBlock)
                {
                    // Another postconf holds the lock: wait, as Postfix blocks in flock().
                    Thread.Sleep(10);
                    continue;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Msg.Fatal($"open {ep.TmpPath}: {Sys.StrError(ErrnoOf(e, ep.TmpPath))}");
                    return ep;
                }
                var fd = (int)fs.SafeFileHandle.DangerousGetHandle();
                if (Sys.Flock(fd, Sys.LOCK_EX) < 0)
                    Msg.Fatal($"lock {ep.TmpPath}: {Sys.LastError()}");
                // While we waited for the lock, the file may have been renamed
                // into place or removed by the process that held it: start
                // over with a new file. (Postfix compares inode numbers.)
                if (!ep.StillNamed(fd))
                {
                    fs.Dispose();
                    continue;
                }
                // A leftover file with other permissions is not trusted:
                // remove it (we hold its lock) and start over.
                var mode = OperatingSystem.IsWindows() ? TmpMode : File.GetUnixFileMode(fs.SafeFileHandle);
                if (mode != TmpMode)
                {
                    if (Sys.Unlink(ep.TmpPath) < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Sys.ENOENT)
                        Msg.Fatal($"unlink {ep.TmpPath}: {Sys.LastError()}");
                    fs.Dispose();
                    continue;
                }
                try
                {
                    fs.SetLength(0);
                }
                catch (IOException e)
                {
                    Msg.Fatal($"truncate {ep.TmpPath}: {Sys.StrError(Sys.ErrnoOf(e))}");
                }
                ep.stream = fs;
                return ep;
            }
        }

        // StillNamed - the open file is still the one at TmpPath (Linux
        // /proc: a renamed file shows its new name, a removed one "(deleted)").
        private bool StillNamed(int fd)
        {
            string? target;
            try
            {
                target = new FileInfo("/proc/self/fd/" + fd).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return true;
            }
            if (target == null)
                return true;
            return target.EndsWith("/" + Path.GetFileName(TmpPath), StringComparison.Ordinal);
        }

        // Commit - write, set the final mode, sync, rename over the original.
        public void Commit(byte[] content)
        {
            var fs = stream!; // set by Open()
            string? error = null;
            try
            {
                fs.Write(content);
                fs.Flush();
                var fd = (int)fs.SafeFileHandle.DangerousGetHandle();
                if (Sys.Fchmod(fd, FinalMode) < 0 || Sys.Fsync(fd) < 0 || Sys.Rename(TmpPath, FinalPath) < 0)
                    error = Sys.LastError();
            }
            catch (IOException e)
            {
                error = Sys.StrError(Sys.ErrnoOf(e));
            }
            if (error != null)
            {
                Sys.Unlink(TmpPath);
                fs.Dispose();
                Msg.Fatal($"close {FinalPath}{EditFileSuffix}: {error}");
            }
            fs.Dispose();
        }
    }

    // ChainedTable - Postfix's htable: the order in which new main.cf
    // parameters are appended is its bucket order, a function of the FNV
    // hash. Postfix randomizes the hash seed unless NORANDOMIZE is set;
    // so do we, which makes the order match byte for byte when it is set.
    private sealed class ChainedTable<T>
        where T : class
    {
        private const ulong FnvPrime = 0x00000100000001B3UL;
        private const ulong FnvOffsetBasis = 0xcbf29ce484222325UL;

        private readonly ulong basis;
        private List<KeyValuePair<string, T>>[] buckets;
        private int used;

        public ChainedTable(int size)
        {
            basis = FnvOffsetBasis;
            if (Environment.GetEnvironmentVariable("NORANDOMIZE") == null)
                basis ^= (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.Next() << 63);
            buckets = NewBuckets(size < 13 ? 13 : size);
        }

        private static List<KeyValuePair<string, T>>[] NewBuckets(int size)
        {
            size |= 1;
            var b = new List<KeyValuePair<string, T>>[size];
            for (var i = 0; i < size; i++)
                b[i] = new List<KeyValuePair<string, T>>();
            return b;
        }

        private int Hash(string key)
        {
            var h = basis;
            // Postfix hashes the bytes of the command-line text.
            foreach (var b in Encoding.UTF8.GetBytes(key))
            {
                h ^= 1UL + b;
                h *= FnvPrime;
            }
            return (int)(h % (ulong)buckets.Length);
        }

        // Link - new elements go to the head of their chain (index 0 here).
        private void Link(string key, T value)
        {
            buckets[Hash(key)].Insert(0, new KeyValuePair<string, T>(key, value));
            used++;
        }

        public void Enter(string key, T value)
        {
            if (used >= buckets.Length)
            {
                var old = buckets;
                buckets = NewBuckets(2 * old.Length);
                used = 0;
                foreach (var chain in old)
                {
                    foreach (var kv in chain)
                        Link(kv.Key, kv.Value);
                }
            }
            Link(key, value);
        }

        public T? Find(string key)
        {
            foreach (var kv in buckets[Hash(key)])
            {
                if (kv.Key == key)
                    return kv.Value;
            }
            return null;
        }

        public void Delete(string key)
        {
            var chain = buckets[Hash(key)];
            var i = chain.FindIndex(kv => kv.Key == key);
            if (i >= 0)
            {
                chain.RemoveAt(i);
                used--;
            }
        }

        public IEnumerable<(string Key, T Value)> List()
        {
            foreach (var chain in buckets)
            {
                foreach (var kv in chain)
                    yield return (kv.Key, kv.Value);
            }
        }
    }
}
