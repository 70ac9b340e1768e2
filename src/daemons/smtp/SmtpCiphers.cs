// NAME
//	SmtpCiphers - cipher grades and exclusions, read by OpenSSL itself
// POSTFIX
//	src/tls/tls_misc.c (tls_set_ciphers, tls_print_errors)
// DESCRIPTION
//	CipherList() turns a grade (high, medium, low, export, null) into
//	the OpenSSL cipher string of tls_GRADE_cipherlist and appends ":!X"
//	for every exclusion. Select() hands that string to the system
//	OpenSSL (the library SslStream runs on) through a throw-away SSL_CTX
//	and reads back the suites it selects, in its order: the same
//	answer the reference gets, aliases, @STRENGTH and all. The TLS 1.3
//	suites are not governed by a cipher string and stay. The list goes
//	to SslStream as a CipherSuitesPolicy. An empty selection is the
//	reference's "error setting cipher grade", with OpenSSL's own error
//	queue logged. Null when libssl cannot be loaded (the exclusions are
//	then matched by name, see SmtpTls.CipherPolicy).
using System;
using System.Collections.Generic;
using System.Net.Security;
using System.Runtime.InteropServices;
using System.Text;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal static partial class SmtpCiphers
{
    private const string Ssl = "libssl.so.3";
    private const string Crypto = "libcrypto.so.3";

    [LibraryImport(Ssl, EntryPoint = "TLS_client_method")]
    private static partial IntPtr TlsClientMethod();

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_new")]
    private static partial IntPtr CtxNew(IntPtr method);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_free")]
    private static partial void CtxFree(IntPtr ctx);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_set_cipher_list", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int CtxSetCipherList(IntPtr ctx, string list);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_get_ciphers")]
    private static partial IntPtr CtxGetCiphers(IntPtr ctx);

    [LibraryImport(Ssl, EntryPoint = "SSL_CIPHER_get_protocol_id")]
    private static partial ushort CipherProtocolId(IntPtr cipher);

    [LibraryImport(Crypto, EntryPoint = "OPENSSL_sk_num")]
    private static partial int StackCount(IntPtr stack);

    [LibraryImport(Crypto, EntryPoint = "OPENSSL_sk_value")]
    private static partial IntPtr StackValue(IntPtr stack, int index);

    [LibraryImport(Crypto, EntryPoint = "ERR_clear_error")]
    private static partial void ErrClear();

    [LibraryImport(Crypto, EntryPoint = "ERR_get_error_all")]
    private static partial ulong ErrGetAll(out IntPtr file, out int line, out IntPtr func, out IntPtr data, out int flags);

    [LibraryImport(Crypto, EntryPoint = "ERR_error_string_n")]
    private static partial void ErrString(ulong error, byte[] buffer, nuint length);

    private static readonly char[] Separators = { ',', ' ', '\t', '\r', '\n', ':' };

    private static readonly string[] Grades = { "high", "medium", "low", "export", "null" };

    // The TLS 1.3 suites (IANA 0x1301 ... 0x1305).
    private static bool IsTls13(ushort id) => id >> 8 == 0x13;

    // CipherList - tls_set_ciphers(): the OpenSSL string of a grade with
    // the exclusions; null (with the reference's warning) for an unknown
    // grade or an exclusion that starts with an operator.
    public static string? CipherList(string grade, string exclusions, SmtpTlsConfig config, string namAddr)
    {
        var i = Array.IndexOf(Grades, grade.ToLowerInvariant());
        if (i < 0)
        {
            Msg.Warn($"{namAddr}: invalid cipher grade: \"{grade}\"");
            return null;
        }
        var sb = new StringBuilder(config.GradeLists[i]);
        foreach (var tok in exclusions.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
        {
            if ("!+-@".Contains(tok[0], StringComparison.Ordinal))
            {
                Msg.Warn($"{namAddr}: invalid unary '!+-@' in cipher exclusion: {tok}");
                return null;
            }
            sb.Append(":!").Append(tok);
        }
        return sb.ToString();
    }

    private static bool? available;

    // Selections already made, by cipher string (only the good ones: a
    // bad string is logged every time, as the reference does).
    private static readonly Dictionary<string, List<TlsCipherSuite>> Selected = new(StringComparer.Ordinal);

    // Select - the suites OpenSSL selects for a cipher string, TLS 1.3
    // first; an empty list when it selects none (the errors logged);
    // null when libssl is not there.
    public static List<TlsCipherSuite>? Select(string cipherList, string namAddr, string grade)
    {
        if (available == false)
            return null;
        lock (Selected)
        {
            if (Selected.TryGetValue(cipherList, out var known))
                return known;
        }
        IntPtr ctx;
        try
        {
            ctx = CtxNew(TlsClientMethod());
            available = true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            available = false;
            return null;
        }
        if (ctx == IntPtr.Zero)
            return null;
        try
        {
            ErrClear();
            var suites = new List<TlsCipherSuite>();
            if (CtxSetCipherList(ctx, cipherList) == 0)
            {
                Msg.Warn($"{namAddr}: error setting cipher grade: \"{grade}\"");
                PrintErrors();
                return suites;
            }
            var stack = CtxGetCiphers(ctx);
            var n = stack == IntPtr.Zero ? 0 : StackCount(stack);
            for (var i = 0; i < n; i++)
            {
                var id = CipherProtocolId(StackValue(stack, i));
                suites.Add((TlsCipherSuite)id);
            }
            lock (Selected)
                Selected[cipherList] = suites;
            return suites;
        }
        finally
        {
            CtxFree(ctx);
        }
    }

    // HasTls12Suites - whether anything below TLS 1.3 was selected.
    public static bool HasTls12Suites(List<TlsCipherSuite> suites) => suites.Exists(s => !IsTls13((ushort)s));

    // PrintErrors - tls_print_errors(): OpenSSL's error queue.
    private static void PrintErrors()
    {
        var buffer = new byte[1024];
        ulong err;
        while ((err = ErrGetAll(out var file, out var line, out _, out var data, out var flags)) != 0)
        {
            ErrString(err, buffer, (nuint)buffer.Length);
            var text = Encoding.UTF8.GetString(buffer, 0, Math.Max(0, Array.IndexOf(buffer, (byte)0)));
            var where = $"{Marshal.PtrToStringUTF8(file)}:{line}";
            if ((flags & 0x02) != 0 && data != IntPtr.Zero)
                Msg.Warn($"TLS library problem: {text}:{where}:{Marshal.PtrToStringUTF8(data)}:");
            else
                Msg.Warn($"TLS library problem: {text}:{where}:");
        }
    }
}
