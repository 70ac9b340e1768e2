// NAME
//	DictUnix - unix:passwd.byname and unix:group.byname
// POSTFIX
//	src/util/dict_unix.c
// DESCRIPTION
//	Look a user or group up with getpwnam(3)/getgrnam(3) and answer
//	with the line as /etc/passwd or /etc/group would show it.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Postfix.Global.Dict;

public sealed unsafe partial class DictUnix : Dict
{
    public const string TypeName = "unix";
    private readonly bool group;

    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public byte* Name;
        public byte* Password;
        public uint Uid;
        public uint Gid;
        public byte* Gecos;
        public byte* Dir;
        public byte* Shell;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Group
    {
        public byte* Name;
        public byte* Password;
        public uint Gid;
        public byte** Members;
    }

    [LibraryImport("libc", EntryPoint = "getpwnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial Passwd* GetPwNam(string name);

    [LibraryImport("libc", EntryPoint = "getgrnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial Group* GetGrNam(string name);

    private DictUnix(string name, bool group, DictOpenFlags openFlags, DictFlags flags)
        : base(TypeName, name, openFlags, flags | DictFlags.Fixed)
    {
        this.group = group;
    }

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags) => name switch
    {
        "passwd.byname" => new DictUnix(name, false, openFlags, dictFlags),
        "group.byname" => new DictUnix(name, true, openFlags, dictFlags),
        _ => DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"unknown table: {TypeName}:{name}"),
    };

    private static string Str(byte* p) => p == null ? "" : DictText.Decode(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(p));

    public override string? Lookup(string key)
    {
        SetError(DictError.None);
        if ((Flags & DictFlags.FoldFix) != 0)
            key = DictText.Fold(key);
        if (key.Contains('\0', StringComparison.Ordinal))
            return null;
        if (!group)
        {
            var pw = GetPwNam(key);
            if (pw == null)
                return null;
            return $"{Str(pw->Name)}:{Str(pw->Password)}:{pw->Uid}:{pw->Gid}:{Str(pw->Gecos)}:{Str(pw->Dir)}:{Str(pw->Shell)}";
        }
        var gr = GetGrNam(key);
        if (gr == null)
            return null;
        var sb = new StringBuilder($"{Str(gr->Name)}:{Str(gr->Password)}:{gr->Gid}:");
        if (gr->Members != null)
        {
            for (var m = gr->Members; *m != null; m++)
            {
                if (m != gr->Members)
                    sb.Append(',');
                sb.Append(Str(*m));
            }
        }
        return sb.ToString();
    }
}
