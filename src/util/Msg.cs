// NAME
//	Msg - diagnostics in the shape of Postfix's msg(3)
// POSTFIX
//	src/util/msg.c, src/util/msg_vstream.c
// DESCRIPTION
//	One line "tag: level: text" per message on stderr (and on any extra
//	sinks, such as the log client). Info lines carry no level word.
//	Fatal and panic throw FatalException, caught by ProgramHost, which
//	exits with the status (after the one-second pause msg_fatal makes).
//	Error counts: the 13th error turns into a fatal, as in msg_error().
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Text;

namespace Postfix.Util;

public static class Msg
{
    // Tag - the program name that prefixes each line (basename of argv[0]).
    public static string Tag { get; set; } = "postfix";

    // Verbose - the -v count.
    public static int Verbose { get; set; }

    // StderrEnabled - daemons started by the master log only to syslog or
    // postlogd; commands also write each line to stderr.
    public static bool StderrEnabled { get; set; } = true;

    // Extra destinations (for example a syslog client): level, text.
    public static readonly List<Action<string, string>> Sinks = new();

    private static int errorCount;

    // Stderr writer: UTF-8 without BOM, LF newlines, autoflush.
    private static TextWriter? err;

    public static TextWriter Err
    {
        get => err ??= new StreamWriter(Console.OpenStandardError(), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        set => err = value;
    }

    public static void Info(string text) => Emit(null, text);

    public static void Warn(string text) => Emit("warning", text);

    // Error - report an error; too many of them end the program.
    public static void Error(string text)
    {
        Emit("error", text);
        if (++errorCount >= 13)
            Fatal("too many errors - program terminated");
    }

    [DoesNotReturn]
    public static void Fatal(string text) => FatalStatus(1, text);

    [DoesNotReturn]
    public static void FatalStatus(int status, string text)
    {
        Emit("fatal", text);
        throw new FatalException(status, text);
    }

    [DoesNotReturn]
    public static void Panic(string text)
    {
        Emit("panic", text);
        throw new FatalException(2, text);
    }

    // Utf8Enable - keep valid UTF-8 in diagnostics (util_utf8_enable).
    public static bool Utf8Enable { get; set; }

    // Printable - printable(text, '?') as msg_output() applies it: control
    // characters, and non-ASCII bytes unless UTF-8 is enabled, become '?'.
    public static string Printable(string text)
    {
        var clean = true;
        foreach (var c in text)
        {
            if (c < 0x20 || c >= 0x7f)
            {
                clean = false;
                break;
            }
        }
        if (clean)
            return text;
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c >= 0x20 && c < 0x7f)
            {
                sb.Append(c);
            }
            else if (c >= 0x80 && Utf8Enable)
            {
                sb.Append(c);
            }
            else if (c >= 0x80)
            {
                // One '?' per byte of the character's UTF-8 form.
                var n = char.IsHighSurrogate(c) && i + 1 < text.Length ? 4 : c < 0x800 ? 2 : 3;
                if (n == 4)
                    i++;
                sb.Append('?', n);
            }
            else
            {
                sb.Append('?');
            }
        }
        return sb.ToString();
    }

    private static void Emit(string? level, string text)
    {
        text = Printable(text);
        var line = level == null ? $"{Tag}: {text}" : $"{Tag}: {level}: {text}";
        if (StderrEnabled)
        {
            try
            {
                Err.Write(line + "\n");
            }
            catch (IOException)
            {
                // stderr gone (a daemon's descriptor 2 is /dev/null or closed).
            }
        }
        foreach (var sink in Sinks)
            sink(level ?? "info", text);
    }

    // ResetForTests - forget the error count (unit tests only).
    internal static void ResetErrors() => errorCount = 0;
}
