// NAME
//	DictSurrogate - stand-in for a table that could not be opened
// POSTFIX
//	src/util/dict_surrogate.c
// DESCRIPTION
//	Commands (AllowSurrogate false) terminate with the reason at once.
//	Daemons log the reason as an error and get a table whose every
//	access fails with a "try again" status and logs the reason again.
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class DictSurrogate : Dict
{
    private readonly string reason;

    // AllowSurrogate - dict_allow_surrogate: false in commands.
    public static bool AllowSurrogate { get; set; }

    private DictSurrogate(string type, string name, DictOpenFlags openFlags, DictFlags flags, string reason)
        : base(type, name, openFlags, flags | DictFlags.Pattern)
    {
        this.reason = reason;
    }

    // Create - report why type:name is unavailable; return the stand-in.
    public static Dict Create(string type, string name, DictOpenFlags openFlags, DictFlags flags, string reason)
    {
        if (!AllowSurrogate)
            Msg.Fatal(reason);
        Msg.Error(reason);
        return new DictSurrogate(type, name, openFlags, flags, reason);
    }

    private void Unavailable()
    {
        Msg.Warn($"{Type}:{Name} is unavailable. {reason}");
        SetError(DictError.Retry, reason);
    }

    public override string? Lookup(string key)
    {
        Unavailable();
        return null;
    }

    public override DictStatus Update(string key, string value)
    {
        if ((OpenFlags & DictOpenFlags.ReadWrite) == 0)
            return base.Update(key, value);
        Unavailable();
        return DictStatus.Error;
    }

    public override DictStatus Delete(string key)
    {
        if ((OpenFlags & DictOpenFlags.ReadWrite) == 0)
            return base.Delete(key);
        Unavailable();
        return DictStatus.Error;
    }

    public override DictStatus Sequence(DictSeq function, out string key, out string value)
    {
        key = value = "";
        Unavailable();
        return DictStatus.Error;
    }
}
