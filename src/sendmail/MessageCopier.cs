// NAME
//	MessageCopier - copy the message text into content records
// POSTFIX
//	src/sendmail/sendmail.c (enqueue: the header/body loop)
// DESCRIPTION
//	Leading "From " lines (also ">From ", ">>From ") are dropped; CR
//	before LF is removed according to sendmail_fix_line_endings
//	(always, never, or "strict": as the first line does); unless -i, a
//	line with a single "." ends the input. With -t the records pass
//	through a HeaderExtractor that collects the recipients.
using System;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal enum StripCr
{
    Dunno,
    Do,
    Dont,
}

internal static class MessageCopier
{
    // FixEolMode - the sendmail_fix_line_endings value, fatal if unknown.
    public static StripCr FixEolMode(string value) => value switch
    {
        "always" => StripCr.Do,
        "strict" => StripCr.Dunno,
        "never" => StripCr.Dont,
        _ => throw Fatal($"invalid sendmail_fix_line_endings value: {value}"),
    };

    private static Exception Fatal(string text)
    {
        Msg.FatalStatus(ExitCodes.Usage, text);
        return new InvalidOperationException();
    }

    // Copy - the message from source to sink (or to the extractor).
    public static void Copy(LineSource source, IRecordSink sink, HeaderExtractor? extractor, int flags,
        StripCr stripCr, int lineLimit, Func<int, string> extractError)
    {
        var skipFrom = true;
        var prevType = 0;
        int type;
        for (; (type = source.Next(lineLimit, out var line)) != RecordType.Eof; prevType = type)
        {
            if (stripCr == StripCr.Dunno && type == RecordType.Norm)
                stripCr = line.Length > 0 && line[^1] == '\r' ? StripCr.Do : StripCr.Dont;
            if (skipFrom)
            {
                if (type == RecordType.Norm && IsFromLine(line))
                    continue;
                skipFrom = false;
            }
            if (stripCr == StripCr.Do && type == RecordType.Norm)
            {
                while (line.Length > 0 && line[^1] == '\r')
                    line = line[..^1];
            }
            if ((flags & SendmailFlags.ArchaicEof) != 0 && prevType != RecordType.Cont
                && line.Length == 1 && line[0] == '.')
                break;
            if (extractor != null)
            {
                var errs = extractor.Update(type, line);
                if (errs != 0)
                    Msg.FatalStatus(ExitCodes.DataErr, extractError(errs));
            }
            else
            {
                sink.Put(type, line);
            }
        }
        if (extractor != null)
        {
            var errs = extractor.Update(RecordType.Eof, default);
            if (errs != 0)
                Msg.FatalStatus(ExitCodes.DataErr, extractError(errs));
        }
    }

    // IsFromLine - "From " after any number of '>' (C string: stops at NUL).
    private static bool IsFromLine(ReadOnlySpan<byte> line)
    {
        var i = 0;
        while (i < line.Length && line[i] == '>')
            i++;
        return line[i..].StartsWith("From "u8);
    }
}
