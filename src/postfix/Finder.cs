// NAME
//	Finder - the find(1) walks of the configuration check
// DESCRIPTION
//	Walk() visits each root and (unless pruned) everything below it,
//	pre-order, entries in readdir order, as find(1) does. Symbolic
//	links are followed only when asked (find -L; a dangling link is
//	then reported as itself). A root that does not exist, and a
//	directory loop met while following links, are reported on stderr
//	in find's words. Paths are built as find prints them ("root/name").
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal readonly record struct FoundPath(string Path, Sys.FileStat Stat);

internal static class Finder
{
    public static List<FoundPath> Walk(IEnumerable<string> roots, bool followLinks = false, bool prune = false)
    {
        var found = new List<FoundPath>();
        foreach (var root in roots)
        {
            if (!StatPath(root, followLinks, out var st))
            {
                var why = Sys.LastError();
                Msg.Err.Write($"find: '{root}': {why}\n");
                continue;
            }
            Visit(root, st, followLinks, prune, new List<(ulong, ulong, string)>(), found);
        }
        return found;
    }

    private static bool StatPath(string path, bool followLinks, out Sys.FileStat st)
    {
        if (followLinks && Sys.Stat(path, out st))
            return true;
        return Sys.LStat(path, out st);
    }

    private static void Visit(string path, Sys.FileStat st, bool followLinks, bool prune,
        List<(ulong Dev, ulong Ino, string Path)> ancestors, List<FoundPath> found)
    {
        if (Sys.IsDir(st.Mode))
        {
            foreach (var a in ancestors)
            {
                if (a.Dev == st.Device && a.Ino == st.Inode)
                {
                    Msg.Err.Write($"find: File system loop detected; '{path}' is part of the same file system loop as '{a.Path}'.\n");
                    return;
                }
            }
        }
        found.Add(new FoundPath(path, st));
        if (prune || !Sys.IsDir(st.Mode))
            return;
        var names = new List<string>();
        using (var d = DirStream.Open(path))
        {
            if (d == null)
            {
                var why = Sys.LastError();
                Msg.Err.Write($"find: '{path}': {why}\n");
                return;
            }
            string? name;
            while ((name = d.Next()) != null)
            {
                if (name is not ("." or ".."))
                    names.Add(name);
            }
        }
        ancestors.Add((st.Device, st.Inode, path));
        foreach (var name in names)
        {
            var child = path.EndsWith('/') ? path + name : path + "/" + name;
            if (StatPath(child, followLinks, out var cst))
                Visit(child, cst, followLinks, prune, ancestors, found);
        }
        ancestors.RemoveAt(ancestors.Count - 1);
    }

    public const uint S_IFLNK = 0xa000;
    public const uint S_IFIFO = 0x1000;
    public const uint S_IFSOCK = 0xc000;

    public static bool IsLink(uint mode) => (mode & Sys.S_IFMT) == S_IFLNK;

    public static bool IsPipeOrSocket(uint mode) => (mode & Sys.S_IFMT) is S_IFIFO or S_IFSOCK;

    // GroupOrOtherWritable - find -perm -020 -o -perm -002.
    public static bool GroupOrOtherWritable(uint mode) => (mode & 0x12) != 0;
}
