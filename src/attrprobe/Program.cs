// NAME
//	attrprobe - talk to Postfix services with our attribute clients
// SYNOPSIS
//	attrprobe [-c config_dir] [-x] rewrite rule address...
//	attrprobe [-c config_dir] [-x] resolve|verify sender address...
//	attrprobe [-c config_dir] trigger class service text
//	attrprobe [-c config_dir] wakeup|flush
//	attrprobe [-c config_dir] showq
//	attrprobe [-c config_dir] stub-rewrite domain reason
//	attrprobe [-c config_dir] flush-request request [name=value...]
// DESCRIPTION
//	A test driver for compat-tests/suites/attr.sh, not an installed
//	command. It reads queue_directory from main.cf (MAIL_CONFIG or -c)
//	and asks the service there through Postfix.Global.Attr: rewrite
//	prints one result per address, resolve and verify print
//	"transport nexthop recipient flags" per address (flags in decimal),
//	trigger sends the text (C escapes \0 and \n allowed) with
//	MailTrigger, wakeup and flush are mail_flush_maildrop() and
//	mail_flush_deferred(). showq lists the queue as public/showq
//	reports it (as postqueue reads it): "queue_name queue_id sender"
//	per message, then "\trecipient (reason)" per recipient.
//	flush-request sends one request (add, send_site, send_file, rfrsh,
//	purge, or anything else) with string attributes to public/flush and
//	prints "status N" (the flush_clnt protocol). With -x, each request is also printed in the
//	form the client writes it, as hex, before the result.
// SECURITY
//	Needs access to the queue directory sockets (root or postfix).
// DIAGNOSTICS
//	Exit status 0 on success, 1 when a request failed.
// SEE ALSO
//	compat-tests/suites/attr.sh
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.AttrProbe;

internal static class Program
{
    private static int Main(string[] args) => ProgramHost.Run("attrprobe", args, Run);

    private static int Run(string[] args)
    {
        string? configDir = null;
        var hex = false;
        var i = 0;
        for (; i < args.Length && args[i].StartsWith('-'); i++)
        {
            if (args[i] == "-c" && i + 1 < args.Length)
                configDir = args[++i];
            else if (args[i] == "-x")
                hex = true;
            else
                Usage();
        }
        if (i >= args.Length)
            Usage();
        var conf = MailConf.Read(configDir);
        var queueDir = conf.Eval("queue_directory");
        var cmd = args[i++];
        var rest = args[i..];
        var output = ProgramHost.Out;
        switch (cmd)
        {
            case "rewrite":
                {
                    if (rest.Length < 2)
                        Usage();
                    using var client = new RewriteClient(queueDir) { TryLimit = 2 };
                    for (var k = 1; k < rest.Length; k++)
                    {
                        if (hex)
                            output.Write(Hex(w => w.Str(MailProto.AttrReq, MailProto.ReqRewrite)
                                .Str(MailProto.AttrRule, rest[0]).Str(MailProto.AttrAddr, rest[k])) + "\n");
                        var result = client.Rewrite(rest[0], rest[k]);
                        if (result == null)
                            return 1;
                        output.Write(result + "\n");
                    }
                    return 0;
                }
            case "resolve":
            case "verify":
                {
                    if (rest.Length < 2)
                        Usage();
                    using var client = new ResolveClient(queueDir) { TryLimit = 2 };
                    var cls = cmd == "resolve" ? MailProto.ReqResolve : MailProto.ReqVerify;
                    for (var k = 1; k < rest.Length; k++)
                    {
                        if (hex)
                            output.Write(Hex(w => w.Str(MailProto.AttrReq, cls)
                                .Str(MailProto.AttrSender, rest[0]).Str(MailProto.AttrAddr, rest[k])) + "\n");
                        var r = client.Request(cls, rest[0], rest[k]);
                        if (r is not { } reply)
                            return 1;
                        output.Write($"{reply.Transport} {reply.Nexthop} {reply.Recipient} {reply.Flags}\n");
                    }
                    return 0;
                }
            case "trigger":
                if (rest.Length != 3)
                    Usage();
                return MailTrigger.Trigger(queueDir, rest[0], rest[1], Unescape(rest[2])) < 0 ? 1 : 0;
            case "showq":
                return Showq(queueDir, output);
            case "stub-rewrite":
                if (rest.Length != 2)
                    Usage();
                return StubRewrite(queueDir, rest[0], rest[1]);
            case "flush-request":
                if (rest.Length < 1)
                    Usage();
                return FlushRequest(queueDir, rest[0], rest[1..], output);
            case "wakeup":
                return MailTrigger.FlushMaildrop(queueDir) < 0 ? 1 : 0;
            case "flush":
                return MailTrigger.FlushDeferred(queueDir) < 0 ? 1 : 0;
            default:
                Usage();
                return 1;
        }
    }

    private static readonly AttrSpec[] ShowqMessage =
    [
        AttrSpec.Str(MailProto.AttrQueue),
        AttrSpec.Str(MailProto.AttrQueueId),
        AttrSpec.Long(MailProto.AttrTime),
        AttrSpec.Long(MailProto.AttrSize),
        AttrSpec.Int("forced_expire"),
        AttrSpec.Str(MailProto.AttrSender),
    ];

    private static readonly AttrSpec[] ShowqRecipient = [AttrSpec.Str(MailProto.AttrRecip), AttrSpec.Str(MailProto.AttrWhy)];

    // FlushRequest - one fast flush request and its status.
    private static int FlushRequest(string queueDir, string request, string[] attrs, TextWriter output)
    {
        using var client = AttrClient.ForService(queueDir, MailProto.ClassPublic, "flush", "queue_flush_protocol");
        if (!client.Connect())
            return 1;
        var sent = client.Send(w =>
        {
            w.Str(MailProto.AttrReq, request);
            foreach (var a in attrs)
            {
                var eq = a.IndexOf('=', StringComparison.Ordinal);
                w.Str(eq < 0 ? a : a[..eq], eq < 0 ? "" : a[(eq + 1)..]);
            }
        });
        var status = new AttrValue[1];
        if (!sent || client.Receive([AttrSpec.Int(MailProto.AttrStatus)], status, AttrFlags.Strict) != 1)
        {
            output.Write("no reply\n");
            return 1;
        }
        output.Write($"status {status[0].Int}\n");
        return 0;
    }

    // Showq - the queue listing, read the way postqueue's showq_compat() does.
    private static int Showq(string queueDir, TextWriter output)
    {
        using var client = AttrClient.ForService(queueDir, MailProto.ClassPublic, MailProto.ServiceShowq, MailProto.ProtoShowq);
        if (!client.Connect() || client.Stream is not { } stream)
            return 1;
        const AttrFlags Flags = AttrFlags.More | AttrFlags.Strict | AttrFlags.Printable;
        var msg = new AttrValue[ShowqMessage.Length];
        var rcpt = new AttrValue[ShowqRecipient.Length];
        int status;
        while ((status = stream.ScanMore()) > 0)
        {
            if (stream.Receive(ShowqMessage, msg, Flags) != ShowqMessage.Length)
                Msg.Fatal("malformed showq server response");
            output.Write($"{msg[0].Str} {msg[1].Str} {msg[5].Str}\n");
            while ((status = stream.ScanMore()) > 0)
            {
                if (stream.Receive(ShowqRecipient, rcpt, Flags) != ShowqRecipient.Length)
                    Msg.Fatal("malformed showq server response");
                output.Write($"\t{rcpt[0].Str} ({rcpt[1].Str})\n");
            }
            if (status < 0)
                Msg.Fatal("malformed showq server response");
        }
        return status < 0 ? 1 : 0;
    }

    private static readonly AttrSpec[] StubRequest = [AttrSpec.Str(MailProto.AttrReq)];
    private static readonly AttrSpec[] StubRewriteArgs = [AttrSpec.Str(MailProto.AttrRule), AttrSpec.Str(MailProto.AttrAddr)];
    private static readonly AttrSpec[] StubResolveArgs = [AttrSpec.Str(MailProto.AttrSender), AttrSpec.Str(MailProto.AttrAddr)];

    // StubRewrite - a stand-in trivial-rewrite, to show that Postfix's own
    // clients accept what our AttrStream writes as a server.
    private static int StubRewrite(string queueDir, string domain, string reason)
    {
        var path = Path.Combine(queueDir, MailProto.ClassPrivate, MailProto.ServiceRewrite);
        File.Delete(path);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        Sys.Chmod(path, 0x1b6);   // 0666, as master makes service sockets
        listener.Listen(16);
        for (; ; )
        {
            var conn = listener.Accept();
            new Thread(() => StubSession(conn, domain, reason)) { IsBackground = true }.Start();
        }
    }

    private static void StubSession(Socket conn, string domain, string reason)
    {
        using var s = new AttrStream(new NetworkStream(conn, ownsSocket: true), "private/rewrite socket");
        if (!s.Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoTrivial)))
            return;
        var req = new AttrValue[1];
        var args = new AttrValue[2];
        while (s.Receive(StubRequest, req, AttrFlags.More | AttrFlags.Strict) == 1)
        {
            var rewrite = req[0].Str == MailProto.ReqRewrite;
            if (s.Receive(rewrite ? StubRewriteArgs : StubResolveArgs, args, AttrFlags.Strict) != 2)
                return;
            // The null sender comes quoted ("") and must stay null, or
            // bounces would bounce forever.
            var addr = args[1].Str == "\"\"" ? "" : args[1].Str;
            if (addr.Length > 0 && !addr.Contains('@', StringComparison.Ordinal))
                addr += "@" + domain;
            var ok = rewrite
                ? s.Send(w => w.Int(MailProto.AttrFlags, 0).Str(MailProto.AttrAddr, addr))
                : s.Send(w => w.Int(MailProto.AttrFlags, 0).Str(MailProto.AttrTransport, "error")
                    .Str(MailProto.AttrNexthop, reason).Str(MailProto.AttrRecip, addr).Int(MailProto.AttrFlags, 0));
            if (!ok)
                return;
        }
    }

    private static void Usage() =>
        Msg.Fatal("usage: attrprobe [-c config_dir] [-x] rewrite rule address... | resolve|verify sender address... | trigger class service text | wakeup | flush | showq | stub-rewrite domain reason | flush-request request [name=value...]");

    private static string Hex(Action<AttrWriter> print)
    {
        var bytes = AttrWriter.ToBytes(AttrEncoding.Zero, print);
        return Convert.ToHexString(bytes).ToLowerInvariant();
    }

    // Unescape - \0, \n, \\ in a trigger text.
    private static byte[] Unescape(string s)
    {
        var bytes = new List<byte>();
        for (var k = 0; k < s.Length; k++)
        {
            if (s[k] == '\\' && k + 1 < s.Length)
            {
                var c = s[++k];
                bytes.Add(c == '0' ? (byte)0 : c == 'n' ? (byte)'\n' : (byte)c);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(s[k].ToString()));
            }
        }
        return bytes.ToArray();
    }
}
