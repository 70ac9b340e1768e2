// NAME
//	DictFile - values that name files (postmap -F)
// POSTFIX
//	src/util/dict_file.c
// DESCRIPTION
//	On create, a value is a list of file names whose contents, joined,
//	are stored base64-encoded. On query and dump, values are decoded.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Dict;

public static class DictFile
{
    private static readonly char[] Separators = { ' ', '\t', '\r', '\n', ',' };

    // ToBase64 - dict_file_to_b64(): null and an error text on failure.
    public static string? ToBase64(string fileNames, out string? error)
    {
        error = null;
        var data = new List<byte>();
        foreach (var name in fileNames.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                data.AddRange(File.ReadAllBytes(name));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"open {name}: {Sys.StrError(Sys.ErrnoOf(e))}";
                return null;
            }
        }
        return Convert.ToBase64String(data.ToArray());
    }

    // FromBase64 - dict_file_from_b64(): null and an error text when malformed.
    public static string? FromBase64(string value, out string? error)
    {
        error = null;
        try
        {
            return DictText.Decode(Convert.FromBase64String(value));
        }
        catch (FormatException)
        {
            error = "malformed BASE64 value: " + (value.Length > 40 ? value[..40] : value);
            return null;
        }
    }

    // Lookup - dict_file_lookup(): look up and decode.
    public static string? Lookup(Dict dict, string key)
    {
        var v = dict.Lookup(key);
        if (v == null)
            return null;
        var d = FromBase64(v, out var err);
        if (d == null)
        {
            Msg.Warn($"table {dict.FullName}: key {key}: {err}");
            dict.SetError(DictError.Config);
        }
        return d;
    }

    internal static string Utf8(byte[] b) => Encoding.UTF8.GetString(b);
}
