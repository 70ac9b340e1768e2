// NAME
//	Permissions - chown, chgrp and chmod as the installer runs them
// POSTFIX
//	conf/post-install (chown $recursive, chgrp $recursive, chmod or
//	find -type d -exec chmod)
// DESCRIPTION
//	Apply() sets owner, group (when given) and mode of one path, with
//	the coreutils diagnostics on stderr when a step fails (false then).
//	Recursive entries change owner and group of the whole tree (links
//	themselves, not what they point to) and the mode of its directories
//	only: queue file state lives in the mode bits of files. A numeric
//	mode of fewer than five digits keeps a directory's set-id bits, as
//	chmod(1) does.
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class Permissions
{
    private const uint NoChange = uint.MaxValue;

    public static bool Apply(string path, bool isDirectory, string owner, string group, string mode, bool recursive)
    {
        if (!Chown("chown", path, owner, recursive, name => Sys.GetPwNam(name)?.Uid, "user", ownerPart: true))
            return false;
        if (group.Length > 0 && !Chown("chgrp", path, group, recursive, Sys.GetGrNam, "group", ownerPart: false))
            return false;
        if (!TryParseMode(mode, out var bits))
        {
            Err($"chmod: invalid mode: '{mode}'\nTry 'chmod --help' for more information.");
            return false;
        }
        if (isDirectory && recursive)
        {
            if (!Sys.LStat(path, out _))
            {
                Err($"find: '{path}': {Sys.LastError()}");
                return true;
            }
            foreach (var dir in Tree(path, directoriesOnly: true))
                Chmod(dir, bits, mode.Length);
            return true;
        }
        return Chmod(path, bits, mode.Length);
    }

    private static bool Chown(string tool, string path, string name, bool recursive, Func<string, uint?> lookup, string what, bool ownerPart)
    {
        if (name.Length == 0)
        {
            Err($"{tool}: missing operand after '{path}'\nTry '{tool} --help' for more information.");
            return false;
        }
        var id = lookup(name) ?? (uint.TryParse(name, out var n) ? n : (uint?)null);
        if (id == null)
        {
            Err($"{tool}: invalid {what}: '{name}'");
            return false;
        }
        var uid = ownerPart ? id.Value : NoChange;
        var gid = ownerPart ? NoChange : id.Value;
        if (!recursive)
        {
            if (Sys.Chown(path, uid, gid) == 0)
                return true;
            Err(Sys.Stat(path, out _)
                ? $"{tool}: changing {(ownerPart ? "ownership" : "group")} of '{path}': {Sys.LastError()}"
                : $"{tool}: cannot access '{path}': {Sys.LastError()}");
            return false;
        }
        if (!Sys.LStat(path, out _))
        {
            Err($"{tool}: cannot access '{path}': {Sys.LastError()}");
            return false;
        }
        var ok = true;
        foreach (var p in Tree(path, directoriesOnly: false))
        {
            if (Native.Lchown(p, uid, gid) != 0)
            {
                Err($"{tool}: changing {(ownerPart ? "ownership" : "group")} of '{p}': {Sys.LastError()}");
                ok = false;
            }
        }
        return ok;
    }

    private static bool Chmod(string path, int bits, int digits)
    {
        if (!Sys.Stat(path, out var st))
        {
            Err($"chmod: cannot access '{path}': {Sys.LastError()}");
            return false;
        }
        var mode = bits;
        if (Sys.IsDir(st.Mode) && digits < 5)
            mode |= (int)(st.Mode & Convert.ToUInt32("6000", 8));
        if (Sys.Chmod(path, mode) == 0)
            return true;
        Err($"chmod: changing permissions of '{path}': {Sys.LastError()}");
        return false;
    }

    // TryParseMode - an octal mode of at most four significant digits.
    public static bool TryParseMode(string mode, out int bits)
    {
        bits = 0;
        if (mode.Length == 0)
            return false;
        foreach (var c in mode)
        {
            if (c < '0' || c > '7')
                return false;
            bits = bits * 8 + (c - '0');
            if (bits > Convert.ToInt32("7777", 8))
                return false;
        }
        return true;
    }

    // Tree - path and everything below it, pre-order, links not followed.
    public static IEnumerable<string> Tree(string path, bool directoriesOnly)
    {
        var stack = new Stack<string>();
        stack.Push(path);
        while (stack.Count > 0)
        {
            var p = stack.Pop();
            if (!Sys.LStat(p, out var st))
                continue;
            var isDir = Sys.IsDir(st.Mode);
            if (isDir || !directoriesOnly)
                yield return p;
            if (!isDir)
                continue;
            var children = new List<string>();
            using (var d = DirStream.Open(p))
            {
                string? name;
                while (d != null && (name = d.Next()) != null)
                {
                    if (name is not ("." or ".."))
                        children.Add(p + "/" + name);
                }
            }
            for (var i = children.Count - 1; i >= 0; i--)
                stack.Push(children[i]);
        }
    }

    private static void Err(string text) => Msg.Err.Write(text + "\n");
}
