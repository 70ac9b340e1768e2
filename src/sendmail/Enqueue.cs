// NAME
//	Enqueue - post one message through postdrop
// POSTFIX
//	src/sendmail/sendmail.c (enqueue)
// DESCRIPTION
//	Checks authorized_submit_users, works out the sender (the first
//	address of -f, else the login name), starts postdrop, and writes:
//	the DSN envelope ID and RET attributes, the rewrite context, the
//	full name, the sender, the 8BITMIME/7BIT encoding, trace flags,
//	VERP delimiters, the command-line recipients (each preceded by its
//	NOTIFY attribute), MESG, the message (or the -bv probe text), XTRA,
//	the recipients found with -t, END. Then waits for postdrop's status.
//	Every failure is fatal, with "sender(uid): " in front of the text.
using System;
using System.Globalization;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Config;
using Postfix.Global.Queue;
using Postfix.Global.Submit;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal sealed class Enqueue
{
    private readonly MailConf conf;
    private readonly SubmitRequest request;
    private readonly SubmitParams limits;
    private readonly uint uid = Sys.GetUid();
    private string savedSender = "";

    public Enqueue(MailConf conf, SubmitParams limits, SubmitRequest request)
    {
        this.conf = conf;
        this.limits = limits;
        this.request = request;
    }

    // Prefix - "sender(uid)" as the messages print it.
    private string Who => $"{RawArgs.FromLatin1(savedSender)}({uid.ToString(CultureInfo.InvariantCulture)})";

    private void WriteError(int errno) =>
        Msg.FatalStatus(ExitCodes.TempFail, $"{Who}: error writing queue file: {ErrnoText(errno)}");

    // ErrnoText - %m, with Postfix's text for errno 0.
    public static string ErrnoText(int errno) => errno == 0 ? "Application error" : Sys.StrError(errno);

    public void Run()
    {
        var r = request;
        if (UserAcl.CheckByUid("authorized_submit_users", conf.Eval("authorized_submit_users"), uid) is { } who)
            Msg.FatalStatus(ExitCodes.NoPerm, $"User {who}({uid.ToString(CultureInfo.InvariantCulture)}) is not allowed to submit mail");

        if (limits.MessageLimit > 0)
            Native.LimitFileSize(limits.MessageLimit);

        if (r.Sender != null)
        {
            var addrs = Tok822.Addresses(r.Sender);
            savedSender = addrs.Count > 0 ? addrs[0] : "";
            if (addrs.Count > 1)
                Msg.Warn($"-f option specified malformed sender: {RawArgs.FromLatin1(r.Sender)}");
        }
        else
        {
            savedSender = UserInfo.LoginName()
                ?? throw Fatal(ExitCodes.OsErr, $"no login name found for user ID {uid.ToString(CultureInfo.InvariantCulture)}");
        }

        var command = new StringBuilder(conf.Eval("command_directory")).Append("/postdrop -r");
        for (var level = 0; level < Msg.Verbose; level++)
            command.Append(" -v");
        var postdrop = PostdropClient.Start(command.ToString(), conf.Eval("export_environment"), WriteError)
            ?? throw Fatal(ExitCodes.Unavailable, $"{Who}: unable to execute {command}: Application error");

        WriteEnvelope(postdrop);
        var rcptCount = WriteCommandLineRecipients(postdrop);

        postdrop.Put(RecordType.Mesg, default);
        var lineLimit = limits.LineLimit;
        HeaderExtractor? extractor = null;
        LineSource? input = null;
        if ((r.Flags & SendmailFlags.TraceOnlyMask) != 0)
        {
            WriteProbe(postdrop);
        }
        else
        {
            if ((r.Flags & SendmailFlags.ExtractRcpt) != 0)
                extractor = new HeaderExtractor(postdrop, lineLimit, limits.HeaderLimit);
            var stripCr = MessageCopier.FixEolMode(conf.Eval("sendmail_fix_line_endings"));
            input = new LineSource(0);
            MessageCopier.Copy(input, postdrop, extractor, r.Flags, stripCr, lineLimit,
                errs => $"{Who}: unable to extract recipients: {HeaderExtractor.TruncatedHeaderText}");
        }

        postdrop.Put(RecordType.Xtra, default);
        if (extractor != null)
        {
            foreach (var rcpt in extractor.Extracted)
            {
                PutNotify(postdrop);
                postdrop.Put(RecordType.Rcpt, Encoding.Latin1.GetBytes(rcpt));
                rcptCount++;
            }
        }
        if (rcptCount == 0)
        {
            Msg.FatalStatus(ExitCodes.Usage, extractor != null
                ? $"{Who}: No recipient addresses found in message header"
                : $"{Who}: Recipient addresses must be specified on the command line or via the -t option");
        }
        postdrop.Put(RecordType.End, default);

        if (input is { Errno: not 0 })
            Msg.FatalStatus(ExitCodes.DataErr, $"{Who}: error reading input: {Sys.StrError(input.Errno)}");
        var status = postdrop.Finish(out var why);
        if (status != 0)
        {
            var exit = (status & PostdropClient.StatBad) != 0 ? ExitCodes.Software
                : (status & PostdropClient.StatWrite) != 0 ? ExitCodes.TempFail
                : (status & PostdropClient.StatNoPerm) != 0 ? ExitCodes.NoPerm
                : ExitCodes.Unavailable;
            Msg.FatalStatus(exit, $"{Who}: {(why.Length > 0 ? why : PostdropClient.StatusText(status))}");
        }
        if ((r.Flags & SendmailFlags.TraceMask) != 0)
        {
            ProgramHost.Out.Write($"Mail Delivery Status Report will be mailed to <{RawArgs.FromLatin1(savedSender)}>.\n");
            ProgramHost.FlushOut();
        }
    }

    private static Exception Fatal(int status, string text)
    {
        Msg.FatalStatus(status, text);
        return new InvalidOperationException(text);
    }

    private static void PutText(IRecordSink sink, int type, string text) => sink.Put(type, Encoding.Latin1.GetBytes(text));

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);

    // WriteEnvelope - the records before the recipients.
    private void WriteEnvelope(IRecordSink sink)
    {
        var r = request;
        if (r.DsnEnvId != null)
            PutText(sink, RecordType.Attr, "envelope_id=" + r.DsnEnvId);
        if (r.DsnRet != 0)
            PutText(sink, RecordType.Attr, "ret_flags=" + Number(r.DsnRet));
        PutText(sink, RecordType.Attr, "rewrite_context=" + r.RewriteContext);
        var fullName = r.FullName ?? UserInfo.FullName();
        if (fullName != null)
            PutText(sink, RecordType.Full, CString(fullName));
        PutText(sink, RecordType.From, savedSender);
        if (r.VerpDelims != null && savedSender.Length == 0)
            Msg.FatalStatus(ExitCodes.Usage, $"{Who}: -V option requires non-null sender address");
        if (r.Encoding != null)
            PutText(sink, RecordType.Attr, "encoding=" + r.Encoding);
        if ((r.Flags & SendmailFlags.TraceMask) != 0)
            PutText(sink, RecordType.Attr, "trace_flags=" + Number(r.Flags & SendmailFlags.TraceMask));
        if (r.VerpDelims != null)
            PutText(sink, RecordType.Verp, r.VerpDelims);
    }

    // CString - what a C string argument holds: text up to a NUL.
    private static string CString(string s)
    {
        var nul = s.IndexOf('\0');
        return nul < 0 ? s : s[..nul];
    }

    private void PutNotify(IRecordSink sink)
    {
        if (request.DsnNotify != 0)
            PutText(sink, RecordType.Attr, "notify_flags=" + Number(request.DsnNotify));
    }

    // WriteCommandLineRecipients - each argument parsed as a header value.
    private int WriteCommandLineRecipients(IRecordSink sink)
    {
        var count = 0;
        foreach (var arg in request.Recipients)
        {
            var addrs = Tok822.Addresses(arg);
            foreach (var addr in addrs)
            {
                PutNotify(sink);
                PutText(sink, RecordType.Rcpt, addr);
                count++;
            }
            if (addrs.Count == 0)
            {
                sink.Put(RecordType.Rcpt, default);
                count++;
            }
        }
        return count;
    }

    // WriteProbe - the message text of an address probe (-bv).
    private void WriteProbe(IRecordSink sink)
    {
        if ((request.Flags & SendmailFlags.ExtractRcpt) != 0)
            Msg.FatalStatus(ExitCodes.Usage, $"{Who}: -t option cannot be used with -bv");
        if (savedSender.Length > 0)
            PutText(sink, RecordType.Norm, "From: " + savedSender);
        PutText(sink, RecordType.Norm, "Subject: probe");
        // The recipient list always exists (maybe empty): "To:" always goes out.
        var rcpts = request.Recipients;
        PutText(sink, RecordType.Cont, "To:");
        for (var i = 0; i < rcpts.Length; i++)
            PutText(sink, RecordType.Norm, "\t" + CString(rcpts[i]) + (i + 1 < rcpts.Length ? "," : ""));
    }
}
