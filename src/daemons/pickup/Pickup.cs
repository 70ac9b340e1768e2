// NAME
//	Pickup - the pickup(8) daemon entry point
// POSTFIX
//	src/pickup/pickup.c (main, pickup_service, post_jail_init),
//	src/global/mail_connect.c (mail_connect_wait)
// DESCRIPTION
//	A trigger server with a process limit of 1: every wake-up (a
//	trigger from postdrop or the master's timer) scans maildrop/.
//	After the jail it runs as mail_owner even when master.cf says
//	otherwise. Connections to public/cleanup are retried
//	fork_attempts times, fork_delay apart.
using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Pickup;

public static class Pickup
{
    private static PickupService? service;

    public static int Run(string[] args) =>
        TriggerServer.Run(args, Wakeup, new ServerOptions
        {
            Solitary = true,
            PostInit = PostJail,
        });

    private static void PostJail(ServerContext ctx)
    {
        var cfg = PickupConfig.FromConf(ctx.Conf);
        if (Sys.GetUid() != cfg.OwnerUid)
        {
            var owner = Sys.GetPwNam(ctx.Conf.Eval("mail_owner"));
            if (owner != null && (Sys.SetGroups(owner.Gid) < 0 || Sys.SetGid(owner.Gid) < 0 || Sys.SetUid(owner.Uid) < 0))
                Msg.Fatal($"set_ugid: {Sys.LastError()}");
        }
        var tries = ServerInt(ctx.Conf.Eval("fork_attempts"), 5);
        var delay = ServerInt(ctx.Conf.Eval("fork_delay").TrimEnd('s'), 1);
        service = new PickupService(cfg, () => ConnectWait(MailProto.ClassPublic, cfg.CleanupService, tries, delay));
    }

    private static int ServerInt(string s, int def) =>
        int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : def;

    private static void Wakeup(ServerContext ctx, ReadOnlyMemory<byte> request)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        service!.Scan();
    }

    // ConnectWait - mail_connect_wait().
    internal static Stream ConnectWait(string cls, string name, int tries, int delay)
    {
        var path = cls + "/" + name;
        for (var count = 1; ; count++)
        {
            var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                sock.Connect(new UnixDomainSocketEndPoint(path));
                return new NetworkStream(sock, ownsSocket: true);
            }
            catch (SocketException e)
            {
                sock.Dispose();
                var text = $"connect #{count} to subsystem {path}: {Sys.StrError(e.NativeErrorCode)}";
                if (count >= tries)
                    Msg.Fatal(text);
                Msg.Warn(text);
                Thread.Sleep(delay * 1000);
            }
        }
    }
}
