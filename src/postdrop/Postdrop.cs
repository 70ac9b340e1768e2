// NAME
//	Postdrop - the postdrop(1) command: a record stream into maildrop
// POSTFIX
//	src/postdrop/postdrop.c
// DESCRIPTION
//	Reads main.cf, cleans the environment, checks that the user may
//	submit mail, creates a maildrop file and tells the client its queue
//	ID (postdrop_protocol), then copies the records from stdin with the
//	checks Postfix makes: only envelope, content and extracted-info
//	records in that order, an arrival time of its own, only known
//	attributes, at least one sender and one recipient, END last. The
//	completed file is made ready and pickup is woken up; the client
//	gets the status and reason. End of input before END cancels the
//	request: the file is removed and the exit status is 0.
using System;
using System.Globalization;
using System.Text;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Log;
using Postfix.Global.Queue;
using Postfix.Global.Submit;
using Postfix.Util;

namespace Postfix.Commands.Postdrop;

internal static class Postdrop
{
    private static readonly string[] Segments = [RecordType.PostEnvelope, RecordType.PostContent, RecordType.PostExtract, ""];

    public static int Run(string[] args)
    {
        // The process name comes from the user: not trusted.
        Msg.Tag = "postdrop";
        MailLog.Init(MailLog.Task("postdrop", null), null);

        var opt = new GetOpt(args, "c:rv", "postdrop");
        int c;
        while ((c = opt.Next()) > 0)
        {
            switch (c)
            {
                case 'c':
                    Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, opt.Optarg);
                    break;
                case 'r':
                    break;
                case 'v':
                    if (Sys.GetEuid() == 0)
                        Msg.Verbose++;
                    break;
                default:
                    Msg.Fatal("usage: postdrop [-c config_dir] [-v]");
                    break;
            }
        }

        var configDir = MailConf.ConfigDirectoryFromEnvironment();
        if (configDir != MailConf.DefConfigDir && ConfigDirCheck.Unsafe())
            ConfigDirCheck.Check(configDir);
        var conf = MailConf.Read(configDir);
        var limits = SubmitParams.Load(conf);
        MailLog.Init(MailLog.Task("postdrop", conf), conf);

        if (limits.MessageLimit > 0)
            Native.LimitFileSize(limits.MessageLimit);
        CleanEnvironment(conf.Eval("import_environment"));

        var queueDir = conf.Eval("queue_directory");
        if (Sys.Chdir(queueDir) != 0)
            Msg.Fatal($"chdir {queueDir}: {Sys.LastError()}");
        if (Msg.Verbose > 0)
            Msg.Info($"chdir {queueDir}");

        Native.IgnoreFileSizeSignal();
        using var interrupts = new InterruptCleanup();

        var uid = Sys.GetUid();
        if (UserAcl.CheckByUid("authorized_submit_users", conf.Eval("authorized_submit_users"), uid) is { } who)
            Msg.Fatal($"User {who}({uid}) is not allowed to submit mail");

        var start = DateTimeOffset.UtcNow;
        var file = MaildropFile.Create(MailQueue.FromConfig(conf), conf.Bool("enable_long_queue_ids"));
        interrupts.Path = file.Path;
        try
        {
            return Receive(conf, limits.LineLimit, file, uid, start, interrupts);
        }
        catch (FatalException)
        {
            interrupts.RemoveFile();
            throw;
        }
    }

    private static int Receive(MailConf conf, int lineLimit, MaildropFile file, uint uid, DateTimeOffset start, InterruptCleanup interrupts)
    {
        using var stdout = new FdStream(1, owned: false);
        var client = new AttrStream(stdout, "stdout");
        client.Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoPostdrop).Str(MailProto.AttrQueueId, file.QueueId));

        using var stdin = new FdStream(0, owned: false);
        var input = new RecordInput(stdin, "stdin");
        var status = CleanupStatus.Ok;
        var reason = "";
        var fromCount = 0;
        var rcptCount = 0;
        var validateInput = true;
        var writeFailed = false;
        var expected = 0;

        var usec = start.UtcTicks / 10 % 1_000_000;
        file.Put(RecordType.Time, Encoding.ASCII.GetBytes(RecordWriter.FormatTime(start.ToUnixTimeSeconds(), usec)));
        for (;;)
        {
            var type = input.Next(lineLimit, out var data);
            if (type == RecordType.Eof)
            {
                // The client gave up: cancel.
                file.Close();
                if (Sys.Unlink(file.Path) != 0)
                    Msg.Warn($"uid={uid}: remove {file.Path}: {Sys.LastError()}");
                else if (Msg.Verbose > 0)
                    Msg.Info($"remove {file.Path}");
                interrupts.Path = null;
                return 0;
            }
            if (type == RecordType.Error)
                Msg.Fatal($"uid={uid}: malformed input");
            if (!RecordType.InSet(Segments[expected], type))
                Msg.Fatal($"uid={uid}: unexpected record type: {type}");
            if (Segments[expected].Length > 0 && type == Segments[expected][0])
                expected++;
            if (type == RecordType.Time)
                continue;
            if (type == RecordType.From)
            {
                status |= LoginSenderAcl.Check(conf, uid, data, out var why);
                if (why.Length > 0)
                    reason = why;
                fromCount++;
            }
            if (type == RecordType.Rcpt)
                rcptCount++;
            if (type == RecordType.Attr)
            {
                if (CopyAttribute(uid, data) is { } attr && status == CleanupStatus.Ok && !writeFailed)
                    writeFailed = !file.Put(RecordType.Attr, attr);
                continue;
            }
            if (status == CleanupStatus.Ok && !writeFailed)
                writeFailed = !file.Put(type, data);
            if (status != CleanupStatus.Ok || writeFailed)
            {
                while ((type = input.Next(lineLimit, out _)) != RecordType.End && type != RecordType.Eof)
                {
                    if (type == RecordType.Error)
                        Msg.Fatal($"uid={uid}: malformed input");
                }
                validateInput = false;
                break;
            }
            if (type == RecordType.End)
                break;
        }

        if (validateInput && (fromCount == 0 || rcptCount == 0))
            status |= CleanupStatus.Bad;
        if (status != CleanupStatus.Ok)
        {
            file.Close();
        }
        else if ((status = file.Finish(conf.Eval("pickup_service_name"), out var errno)) != 0)
        {
            Msg.Warn($"uid={uid}: {(errno == 0 ? "Application error" : Sys.StrError(errno))}");
            interrupts.RemoveFile();
        }
        interrupts.Path = null;

        var text = status != CleanupStatus.Ok ? reason : "";
        client.Send(w => w.Int(MailProto.AttrStatus, status).Str(MailProto.AttrWhy, text));
        return status;
    }

    // CopyAttribute - only the attributes a user may set.
    private static byte[]? CopyAttribute(uint uid, ReadOnlySpan<byte> data)
    {
        var text = Encoding.Latin1.GetString(RecordReader.CString(data));
        if (NameValue.Split(text, out var name, out var value) is { } err)
        {
            Msg.Warn($"uid={uid}: ignoring malformed record: {err}: {Limit(text)}");
            return null;
        }
        var allowed = (name == "encoding" && (value is "7bit" or "8bit" or ""))
            || name is "envelope_id" or "notify_flags" or "dsn_orig_rcpt" or "ret_flags" or "create_time" or "trace_flags"
            || (name == "rewrite_context" && (value is "local" or "remote"));
        if (allowed)
            return Encoding.Latin1.GetBytes(name + "=" + value);
        Msg.Warn($"uid={uid}: ignoring attribute record: {Limit(name)}={Limit(value)}");
        return null;
    }

    private static string Limit(string s) => Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(s.Length > 200 ? s[..200] : s));

    // CleanEnvironment - clean_env(): keep only the listed variables.
    private static void CleanEnvironment(string list)
    {
        var keep = new System.Collections.Generic.List<(string, string)>();
        foreach (var item in list.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (item.Contains('=', StringComparison.Ordinal))
            {
                if (NameValue.Split(item, out var n, out var v) is { } err)
                    Msg.Fatal($"clean_env: {err} in: {item}");
                keep.Add((n, v));
            }
            else if (Environment.GetEnvironmentVariable(item) is { } value)
            {
                keep.Add((item, value));
            }
        }
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            Environment.SetEnvironmentVariable((string)e.Key, null);
        foreach (var (n, v) in keep)
            Environment.SetEnvironmentVariable(n, v);
    }
}
