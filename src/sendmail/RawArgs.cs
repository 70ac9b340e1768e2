// NAME
//	RawArgs - the command line as bytes (one Latin-1 char per byte)
// DESCRIPTION
//	Sendmail passes sender, full name and recipients to the queue file
//	byte for byte, 8-bit data included; .NET decodes argv as UTF-8 and
//	would replace invalid bytes. /proc/self/cmdline has them unchanged.
//	Falls back to the decoded arguments when the counts disagree (under
//	a host such as "dotnet x.dll").
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Postfix.Commands.Sendmail;

internal static class RawArgs
{
    // Get - argv[1..] as Latin-1 strings.
    public static string[] Get(string[] decoded)
    {
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return decoded;
        }
        var words = new List<string>();
        var start = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != 0)
                continue;
            words.Add(Encoding.Latin1.GetString(raw, start, i - start));
            start = i + 1;
        }
        if (words.Count != decoded.Length + 1)
            return decoded;
        return words.GetRange(1, words.Count - 1).ToArray();
    }

    // ToLatin1 - a UTF-16 string's UTF-8 bytes as Latin-1 chars.
    public static string ToLatin1(string s) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(s));

    // FromLatin1 - Latin-1 chars back to text for diagnostics (bytes as UTF-8).
    public static string FromLatin1(string s) => Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(s));
}
