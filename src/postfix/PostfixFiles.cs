// NAME
//	PostfixFiles - the $meta_directory/postfix-files table
// POSTFIX
//	conf/postfix-files, conf/post-install (its reading loop)
// DESCRIPTION
//	One entry per line, path:type:owner:group:mode:flags, fields split
//	on ':' only (no trimming). Read() returns the entries of
//	postfix-files and then of every file under postfix-files.d in
//	sorted order. Expand() substitutes $name and ${name} the way the
//	installer's shell does: unknown names become empty.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Postfix.Commands.Control;

internal sealed record PostfixFileEntry(string Source, string Path, string Type, string Owner, string Group, string Mode, string Flags);

internal static class PostfixFiles
{
    // Sources - postfix-files, then postfix-files.d/** sorted (C locale).
    public static List<string> Sources(string metaDirectory)
    {
        var list = new List<string> { metaDirectory + "/postfix-files" };
        var d = metaDirectory + "/postfix-files.d";
        if (Directory.Exists(d))
        {
            var found = new List<string>();
            CollectFiles(d, found);
            found.Sort(string.CompareOrdinal);
            list.AddRange(found);
        }
        return list;
    }

    private static void CollectFiles(string dir, List<string> found)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
        {
            var info = new FileInfo(entry);
            if (info.LinkTarget == null && Directory.Exists(entry))
                CollectFiles(entry, found);
            else if (info.LinkTarget == null && File.Exists(entry))
                found.Add(entry);
        }
    }

    // Parse - the entries of one file's text, as "read" splits them.
    public static List<PostfixFileEntry> Parse(string source, string text)
    {
        var list = new List<PostfixFileEntry>();
        foreach (var raw in text.Split('\n'))
        {
            var line = ReadLikeShell(raw);
            var f = line.Split(':');
            string F(int i) => i < f.Length ? f[i] : "";
            // The last variable ("junk") takes whatever follows field six.
            list.Add(new PostfixFileEntry(source, F(0), F(1), F(2), F(3), F(4), F(5)));
        }
        if (list.Count > 0 && text.EndsWith('\n'))
            list.RemoveAt(list.Count - 1);
        return list;
    }

    // ReadLikeShell - "read" without -r: a backslash quotes the next character.
    private static string ReadLikeShell(string raw)
    {
        if (!raw.Contains('\\', StringComparison.Ordinal))
            return raw;
        var sb = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\' && i + 1 < raw.Length)
                i++;
            else if (raw[i] == '\\')
                continue;
            sb.Append(raw[i]);
        }
        return sb.ToString();
    }

    // Expand - $name and ${name} substitution; lookup gives null for unset.
    public static string Expand(string value, Func<string, string?> lookup)
    {
        if (!value.Contains('$', StringComparison.Ordinal))
            return value;
        var sb = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '$' || i + 1 >= value.Length)
            {
                sb.Append(value[i]);
                continue;
            }
            if (value[i + 1] == '{')
            {
                var close = value.IndexOf('}', i + 2);
                if (close < 0)
                {
                    sb.Append(value[i..]);
                    break;
                }
                sb.Append(lookup(value[(i + 2)..close]) ?? "");
                i = close;
                continue;
            }
            var j = i + 1;
            while (j < value.Length && (char.IsAsciiLetterOrDigit(value[j]) || value[j] == '_'))
                j++;
            if (j == i + 1)
            {
                sb.Append('$');
                continue;
            }
            sb.Append(lookup(value[(i + 1)..j]) ?? "");
            i = j - 1;
        }
        return sb.ToString();
    }
}
