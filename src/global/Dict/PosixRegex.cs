// NAME
//	PosixRegex - glibc regcomp/regexec, as regexp: tables use them
// POSTFIX
//	src/util/dict_regexp.c (the regex(3) calls)
// DESCRIPTION
//	POSIX regular expressions differ from .NET's (leftmost-longest
//	alternation, bracket rules, REG_NEWLINE), so regexp: tables call the
//	C library like Postfix does. Postfix never calls setlocale(), so its
//	regular expressions run in the "C" locale; every call here switches
//	the thread to a "C" locale object and back, whatever the .NET
//	runtime did to the process locale. Subject strings are bytes with a
//	terminating NUL.
using System;
using System.Runtime.InteropServices;

namespace Postfix.Global.Dict;

public sealed unsafe partial class PosixRegex : IDisposable
{
    public const int RegExtended = 1;
    public const int RegIcase = 1 << 1;
    public const int RegNewline = 1 << 2;
    public const int RegNosub = 1 << 3;
    public const int RegNomatch = 1;

    // sizeof(regex_t) is 64 on LP64 glibc; leave room.
    private const int RegexTSize = 128;

    // offsetof(regex_t, re_nsub) on LP64 glibc: six pointer-sized members.
    private const int ReNsubOffset = 48;

    [StructLayout(LayoutKind.Sequential)]
    public struct RegMatch
    {
        public int So;
        public int Eo;
    }

    private nint handle;

    private PosixRegex(nint handle)
    {
        this.handle = handle;
        SubCount = (int)*(nuint*)((byte*)handle + ReNsubOffset);
    }

    // SubCount - re_nsub: the number of parenthesized subexpressions.
    public int SubCount { get; }

    // Compile - regcomp(); null and the regerror() text on failure.
    public static PosixRegex? Compile(ReadOnlySpan<byte> pattern, int flags, out string? error)
    {
        var re = Marshal.AllocHGlobal(RegexTSize);
        new Span<byte>((void*)re, RegexTSize).Clear();
        var buf = new byte[pattern.Length + 1];
        pattern.CopyTo(buf);
        int rc;
        var old = CLocale.Enter();
        try
        {
            fixed (byte* p = buf)
                rc = RegComp(re, p, flags);
            error = rc == 0 ? null : ErrorText(rc, re);
        }
        finally
        {
            CLocale.Leave(old);
        }
        if (rc != 0)
        {
            Marshal.FreeHGlobal(re);
            return null;
        }
        return new PosixRegex(re);
    }

    // Exec - regexec() on a NUL-terminated subject; 0, RegNomatch or an
    // error code. Call between EnterCLocale() and LeaveCLocale().
    public int Exec(byte* subject, int nmatch, RegMatch* pmatch) => RegExec(handle, subject, (nuint)nmatch, pmatch, 0);

    // Handle - the regex_t, for callers that keep it in a packed array
    // (valid until Dispose).
    public nint Handle => handle;

    // Exec - regexec() on a regex_t from Handle.
    public static int Exec(nint regex, byte* subject, int nmatch, RegMatch* pmatch) => RegExec(regex, subject, (nuint)nmatch, pmatch, 0);

    // EnterCLocale - make the "C" locale current for a series of Exec calls;
    // returns what LeaveCLocale() needs.
    public static nint EnterCLocale() => CLocale.Enter();

    public static void LeaveCLocale(nint old) => CLocale.Leave(old);

    // Error - regerror() text for an Exec result.
    public string Error(int code)
    {
        var old = CLocale.Enter();
        try
        {
            return ErrorText(code, handle);
        }
        finally
        {
            CLocale.Leave(old);
        }
    }

    private static string ErrorText(int code, nint re)
    {
        var buf = stackalloc byte[256];
        RegError(code, re, buf, 256);
        return Marshal.PtrToStringUTF8((nint)buf) ?? "";
    }

    public void Dispose()
    {
        if (handle != 0)
        {
            RegFree(handle);
            Marshal.FreeHGlobal(handle);
            handle = 0;
        }
        GC.SuppressFinalize(this);
    }

    ~PosixRegex()
    {
        if (handle != 0)
        {
            RegFree(handle);
            Marshal.FreeHGlobal(handle);
        }
    }

    [LibraryImport("libc", EntryPoint = "regcomp")]
    private static partial int RegComp(nint preg, byte* pattern, int cflags);

    // Matching one key is short work; skipping the GC transition saves a
    // good part of the per-rule cost of large tables.
    [LibraryImport("libc", EntryPoint = "regexec")]
    [SuppressGCTransition]
    private static partial int RegExec(nint preg, byte* subject, nuint nmatch, RegMatch* pmatch, int eflags);

    [LibraryImport("libc", EntryPoint = "regerror")]
    private static partial nuint RegError(int errcode, nint preg, byte* buf, nuint size);

    [LibraryImport("libc", EntryPoint = "regfree")]
    private static partial void RegFree(nint preg);

    // CLocale - a "C" locale object, made current for the duration of a call.
    private static partial class CLocale
    {
        private const int LcAllMask = 0x1fbf;   // glibc LC_ALL_MASK

        private static readonly nint Locale = NewLocale(LcAllMask, "C"u8, 0);

        public static nint Enter() => Locale == 0 ? 0 : UseLocale(Locale);

        public static void Leave(nint old)
        {
            if (old != 0)
                UseLocale(old);
        }

        private static nint NewLocale(int mask, ReadOnlySpan<byte> name, nint based)
        {
            fixed (byte* p = name)
                return NewLocaleRaw(mask, p, based);
        }

        [LibraryImport("libc", EntryPoint = "newlocale")]
        private static partial nint NewLocaleRaw(int mask, byte* locale, nint based);

        [LibraryImport("libc", EntryPoint = "uselocale")]
        [SuppressGCTransition]
        private static partial nint UseLocale(nint locale);
    }
}
