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

    private static void Emit(string? level, string text)
    {
        var line = level == null ? $"{Tag}: {text}" : $"{Tag}: {level}: {text}";
        Err.Write(line + "\n");
        foreach (var sink in Sinks)
            sink(level ?? "info", text);
    }

    // ResetForTests - forget the error count (unit tests only).
    internal static void ResetErrors() => errorCount = 0;
}
