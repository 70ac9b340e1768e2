// NAME
//	DictSurrogate - stand-in for a table that could not be opened
// POSTFIX
//	src/util/dict_surrogate.c
// DESCRIPTION
//	Commands (AllowSurrogate false) terminate with the reason at once.
//	Daemons log the reason as an error and get a table whose every
//	access fails with a "try again" status and logs the reason again.
//	With an Observer set (postfix explain, a dry run) the open failure
//	and each access go to the observer instead of the log, so that the
//	report can show them at the step that uses the table.
using System;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class DictSurrogate : Dict
{
    private readonly string reason;

    // AllowSurrogate - dict_allow_surrogate: false in commands.
    public static bool AllowSurrogate { get; set; }

    // Observer - when set, gets (stand-in, access?) instead of the error
    // at open time (access false) and the warning at each access (true).
    public static Action<DictSurrogate, bool>? Observer { get; set; }

    // Reason - why the table could not be opened.
    public string Reason => reason;

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
        var dict = new DictSurrogate(type, name, openFlags, flags, reason);
        if (Observer is { } observer)
            observer(dict, false);
        else
            Msg.Error(reason);
        return dict;
    }

    private void Unavailable()
    {
        if (Observer is { } observer)
            observer(this, true);
        else
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
