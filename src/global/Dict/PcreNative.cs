// NAME
//	PcreNative - the libpcre2-8 calls that pcre: tables use
// POSTFIX
//	src/util/dict_pcre.c (the pcre2_* calls)
// DESCRIPTION
//	Compile, match data, match, ovector, capture count and error text,
//	from Debian's libpcre2-8.so.0 (the same library the reference
//	plug-in uses, so matching behaviour is the same).
using System;
using System.Runtime.InteropServices;

namespace Postfix.Global.Dict;

internal static unsafe partial class PcreNative
{
    private const string Lib = "libpcre2-8.so.0";

    public const uint Caseless = 0x00000008;
    public const uint DollarEndonly = 0x00000010;
    public const uint Dotall = 0x00000020;
    public const uint Extended = 0x00000080;
    public const uint Multiline = 0x00000400;
    public const uint Ungreedy = 0x00040000;
    public const uint Anchored = 0x80000000;

    public const uint InfoCaptureCount = 4;
    public const int ErrorNomatch = -1;
    public static readonly nuint Unset = nuint.MaxValue;

    [LibraryImport(Lib, EntryPoint = "pcre2_compile_8")]
    public static partial nint Compile(byte* pattern, nuint length, uint options, out int errorCode, out nuint errorOffset, nint context);

    [LibraryImport(Lib, EntryPoint = "pcre2_code_free_8")]
    public static partial void CodeFree(nint code);

    [LibraryImport(Lib, EntryPoint = "pcre2_match_data_create_from_pattern_8")]
    public static partial nint MatchDataCreateFromPattern(nint code, nint gcontext);

    [LibraryImport(Lib, EntryPoint = "pcre2_match_data_free_8")]
    public static partial void MatchDataFree(nint matchData);

    // Matching a header or address is short work; skipping the GC
    // transition saves a third of the per-rule cost of large tables.
    [LibraryImport(Lib, EntryPoint = "pcre2_match_8")]
    [SuppressGCTransition]
    public static partial int Match(nint code, byte* subject, nuint length, nuint startOffset, uint options, nint matchData, nint mcontext);

    [LibraryImport(Lib, EntryPoint = "pcre2_get_ovector_pointer_8")]
    public static partial nuint* GetOvectorPointer(nint matchData);

    [LibraryImport(Lib, EntryPoint = "pcre2_pattern_info_8")]
    public static partial int PatternInfo(nint code, uint what, void* where);

    [LibraryImport(Lib, EntryPoint = "pcre2_get_error_message_8")]
    public static partial int GetErrorMessage(int errorCode, byte* buffer, nuint length);

    // ErrorText - pcre2_get_error_message(), or Postfix's fallback text.
    public static string ErrorText(int code)
    {
        var buf = stackalloc byte[256];
        var len = GetErrorMessage(code, buf, 256);
        return len > 0 ? Marshal.PtrToStringUTF8((nint)buf, len) : $"unexpected pcre2 error code {code}";
    }
}
