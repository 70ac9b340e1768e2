// NAME
//	Smtp - the smtp(8) and lmtp(8) delivery agents
// POSTFIX
//	src/smtp/smtp.c (main, smtp_service, deliver_message)
// DESCRIPTION
//	One single-server program, two personalities chosen by the process
//	name: "lmtp" speaks LMTP with the lmtp_* parameters, anything else
//	SMTP with the smtp_* parameters. Each delivery request from the
//	queue manager is handed to SmtpConnect, which reports every
//	recipient's outcome; the reply to the queue manager is the
//	aggregate status.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using Postfix.Global.Config;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

public static class Smtp
{
    private static SmtpSettings? settings;
    private static Maps? saslMaps;
    private static SmtpChecks? checks;
    private static Maps? tlsPolicy;
    private static readonly char[] ListDelims = { ' ', ',', '\t' };

    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions
        {
            PreInit = PreInit,
            PostInit = PostInit,
            PreAccept = PreAccept,
            Loop = _ => SmtpReuse.LoopDelay(),
            Timer = _ => SmtpReuse.OnTimer(),
        });

    private static void PreInit(ServerContext ctx)
    {
        DeliverConfig.Init(ctx.Conf);
        var p = SmtpSettings.Prefix(ctx.ProcessName == "lmtp");
        var mapNames = ctx.Conf.Eval($"{p}_sasl_password_maps");
        if (ctx.Conf.Bool($"{p}_sasl_auth_enable") && mapNames.Length > 0)
            saslMaps = Maps.Create($"{p}_sasl_password_maps", mapNames, DictFlags.Lock | DictFlags.FoldFix);
        checks = SmtpChecks.Create(ctx.Conf.Eval, p);
        SmtpReuse.Init(ctx.Conf, ctx.ServiceName, p);
        SmtpTlsConfig.Init(ctx.Conf, p);
        SmtpSettings.OpenTables(ctx.Conf, p);
        var policy = ctx.Conf.Eval($"{p}_tls_policy_maps");
        if (policy.Length > 0)
            tlsPolicy = Maps.Create($"{p}_tls_policy_maps", policy, DictFlags.Lock);
    }

    private static void PostInit(ServerContext ctx)
    {
        settings = SmtpSettings.FromConfig(ctx.Conf, ctx.ProcessName == "lmtp");
        settings.Checks = checks;
        settings.TlsPolicyMaps = tlsPolicy;
        settings.OwnAddresses = OwnAddresses(ctx.Conf);
        settings.ProxyAddresses = ProxyAddresses(ctx.Conf);
        settings.FinalDelivery = CommandLineFlags(ctx.Args, settings, ctx.Conf.Bool("lmtp_assume_final"));
        var p = SmtpSettings.Prefix(settings.Lmtp);
        if (ctx.Conf.Bool($"{p}_sasl_auth_enable"))
        {
            settings.Sasl = new SmtpSaslSettings
            {
                Enable = true,
                PasswordMaps = saslMaps,
                SecurityOptions = ctx.Conf.Eval($"{p}_sasl_security_options"),
                TlsSecurityOptions = ctx.Conf.Eval($"{p}_sasl_tls_security_options"),
                MechanismFilter = ctx.Conf.Eval($"{p}_sasl_mechanism_filter")
                    .Split(ListDelims, StringSplitOptions.RemoveEmptyEntries),
                AuthSoftBounce = ctx.Conf.Bool($"{p}_sasl_auth_soft_bounce"),
            };
        }
        DsnFilter.Init($"{SmtpSettings.Prefix(settings.Lmtp)}_delivery_status_filter",
            ctx.Conf.Eval($"{SmtpSettings.Prefix(settings.Lmtp)}_delivery_status_filter"));
    }

    // OwnAddresses - own_inet_addr_list(): the $inet_interfaces addresses.
    private static List<byte[]> OwnAddresses(MailConf conf)
    {
        var list = new List<byte[]>();
        var families = MyNetworks.Families(conf.Eval("inet_protocols"));
        if (families.Count > 0)
            foreach (var a in MyNetworks.OwnAddresses(conf.Eval("inet_interfaces"), families))
                list.Add(a.Address);
        return list;
    }

    // ProxyAddresses - proxy_inet_addr_list(): the $proxy_interfaces addresses.
    private static List<byte[]> ProxyAddresses(MailConf conf)
    {
        var list = new List<byte[]>();
        foreach (var word in conf.Eval("proxy_interfaces").Split(ListDelims, StringSplitOptions.RemoveEmptyEntries))
        {
            var host = word.Trim('[', ']');
            IPAddress[] addrs;
            if (IPAddress.TryParse(host, out var ip))
            {
                addrs = new[] { ip };
            }
            else
            {
                try
                {
                    addrs = System.Net.Dns.GetHostAddresses(host);
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or ArgumentException)
                {
                    addrs = Array.Empty<IPAddress>();
                }
                if (addrs.Length == 0)
                    Msg.Fatal($"config variable proxy_interfaces: host not found: {host}");
            }
            foreach (var a in addrs)
                list.Add(a.GetAddressBytes());
        }
        return list;
    }

    // CommandLineFlags - get_cli_attr(): "flags=DORX" from master.cf; true
    // when X (final delivery) is set. D, O and R (the Delivered-To:,
    // X-Original-To: and Return-Path: headers) go to settings.CliFlags.
    private static bool CommandLineFlags(string[] args, SmtpSettings s, bool assumeFinal)
    {
        var lastFlags = "flags=";
        var final = false;
        foreach (var arg in args)
        {
            if (!arg.StartsWith("flags=", StringComparison.OrdinalIgnoreCase))
                Msg.Fatal($"unknown attribute name: {arg}");
            lastFlags = arg;
            final = false;
            s.CliFlags = SmtpCliFlags.None;
            foreach (var c in arg.AsSpan(6))
            {
                s.CliFlags |= c switch
                {
                    'X' => SmtpCliFlags.FinalDelivery,
                    'D' => SmtpCliFlags.DeliveredTo,
                    'O' => SmtpCliFlags.OrigRcpt,
                    'R' => SmtpCliFlags.ReturnPath,
                    _ => SmtpCliFlags.None,
                };
                if (c == 'X')
                    final = true;
                else if (c is not ('D' or 'O' or 'R'))
                    Msg.Fatal($"unknown {arg} value \"{c}\" in \"{arg[6..]}\"");
            }
        }
        if (s.Lmtp && assumeFinal && !final)
        {
            final = true;
            Msg.Warn($"lmtp_assume_final is obsolete; instead, specify \"{lastFlags}X\" in master.cf");
        }
        return final;
    }

    private static void PreAccept(ServerContext ctx)
    {
        var table = DictOpen.ChangedName();
        if (table != null)
        {
            Msg.Info($"table {table} has changed -- restarting");
            Environment.Exit(0);
        }
    }

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        var request = DeliverRequest.Read(conn.Stream);
        if (request == null)
            return;
        var status = SmtpProto.CheckCliFlags(ctx.ServiceName, request, settings!) ?? DeliverMessage(request);
        DeliverRequest.Done(conn.Stream, request, status);
    }

    // DeliverMessage - deliver_message(): 0 when every recipient is done.
    private static int DeliverMessage(DeliverRequest request)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"deliver_message: from {request.Sender}");
        if (request.Nexthop.Length == 0)
            Msg.Fatal("empty nexthop hostname");
        byte[] bytes;
        var file = request.QueueFile!;
        file.Seek(0, SeekOrigin.Begin);
        using (var ms = new MemoryStream())
        {
            file.CopyTo(ms);
            bytes = ms.ToArray();
        }
        var state = new SmtpState(request, settings!, new DeliveryStatusReporter());
        SmtpConnect.Deliver(state, null, bytes);
        return state.Status;
    }
}
