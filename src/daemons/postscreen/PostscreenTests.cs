// NAME
//	PscFlags, PscTestTimes - which tests a client must take and the
//	cache record of when passed tests expire
// POSTFIX
//	src/postscreen/postscreen.h, postscreen_tests.c
// DESCRIPTION
//	Each test (pregreet, dnsbl, pipelining, non-SMTP command, bare
//	newline) has four flags: fail, pass, todo, done. A cache record is
//	five expiry times "pregreet;dnsbl;pipelining;non_smtp;bare_newline"
//	in seconds since the epoch: 0 means never passed, 1 means never
//	passed while the test was off. A test is to do when now is past
//	its expiry time.
using System;
using System.Globalization;

namespace Postfix.Daemons.Postscreen;

public static class PscFlags
{
    public const uint NoForward = 1 << 0;
    public const uint New = 1 << 3;
    public const uint DenylistFail = 1 << 4;
    public const uint Hangup = 1 << 5;
    public const uint AllowlistFail = 1 << 7;

    public const int Pregreet = 0, Dnsbl = 1, Pipelining = 2, NonSmtp = 3, BareNewline = 4, Count = 5;

    public static uint Fail(int test) => 1u << (8 + 4 * test);
    public static uint Pass(int test) => 1u << (8 + 4 * test + 1);
    public static uint Todo(int test) => 1u << (8 + 4 * test + 2);
    public static uint Done(int test) => 1u << (8 + 4 * test + 3);

    public static readonly uint AnyFail = DenylistFail | AllowlistFail | All(Fail);
    public static readonly uint AnyPass = All(Pass);
    public static readonly uint AnyTodo = All(Todo);
    public static readonly uint EarlyTodo = Todo(Pregreet) | Todo(Dnsbl);
    public static readonly uint SmtpdTodo = Todo(Pipelining) | Todo(NonSmtp) | Todo(BareNewline);
    public static readonly uint SmtpdPass = Pass(Pipelining) | Pass(NonSmtp) | Pass(BareNewline);

    // TodoToPass - the pass flags that match a set of todo flags.
    public static uint TodoToPass(uint todo) => todo >> 1;

    private static uint All(Func<int, uint> f)
    {
        uint m = 0;
        for (var i = 0; i < Count; i++)
            m |= f(i);
        return m;
    }
}

public sealed class PscTestTimes
{
    public const long New = 0, Disabled = 1;

    public long[] Expire { get; } = new long[PscFlags.Count];

    // Parse - psc_parse_tests(): a missing or bad field reads as disabled.
    public static PscTestTimes Parse(string text)
    {
        var t = new PscTestTimes();
        var fields = text.Split(';');
        for (var i = 0; i < PscFlags.Count; i++)
        {
            t.Expire[i] = i < fields.Length && fields[i].Length > 0
                && ulong.TryParse(fields[i], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v <= long.MaxValue
                ? (long)v : Disabled;
        }
        return t;
    }

    // Todo - psc_todo_tests(): the flags for the tests that are due.
    public uint Todo(long now, bool[] enabled)
    {
        uint flags = 0;
        foreach (var e in Expire)
        {
            if (e == New)
                flags |= PscFlags.New;
        }
        for (var i = 0; i < PscFlags.Count; i++)
        {
            if (enabled[i] && now > Expire[i])
                flags |= PscFlags.Todo(i);
        }
        return flags;
    }

    // Print - psc_print_tests(): a test that was never passed and is
    // off now is recorded as disabled.
    public string Print(bool[] enabled)
    {
        for (var i = 0; i < PscFlags.Count; i++)
        {
            if (!enabled[i] && Expire[i] == New)
                Expire[i] = Disabled;
        }
        return string.Join(';', Array.ConvertAll(Expire, e => e.ToString(CultureInfo.InvariantCulture)));
    }
}
