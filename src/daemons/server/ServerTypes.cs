// NAME
//	ServerContext, ClientConnection, ServerOptions - what a daemon's
//	service routine sees
// POSTFIX
//	src/master/mail_server.h
// DESCRIPTION
//	ServerContext carries the configuration (main.cf plus the master's
//	-o overrides), the service name from master.cf and the arguments
//	after the options. ClientConnection is one accepted client (or
//	stdin/stdout in stand-alone mode). ServerOptions are the call-backs
//	and constraints a daemon declares, as the MAIL_SERVER_* arguments of
//	the reference's *_server_main().
using System;
using System.IO;
using System.Net.Sockets;
using Postfix.Global.Config;

namespace Postfix.Server;

public sealed class ServerContext
{
    internal ServerContext(MailConf conf, string serviceName, string processName, string[] args)
    {
        Conf = conf;
        ServiceName = serviceName;
        ProcessName = processName;
        Args = args;
    }

    public MailConf Conf { get; }

    // ServiceName - the master.cf service name (-n), e.g. "cleanup".
    public string ServiceName { get; }

    // ProcessName - basename of argv[0], e.g. "cleanup".
    public string ProcessName { get; }

    // Args - what follows the options on the command line.
    public string[] Args { get; }

    // Transport - inet, unix, fifo, pass or unix-dgram (-t).
    public string Transport { get; internal set; } = "";

    // StandAlone - the client is stdin/stdout (-S).
    public bool StandAlone { get; internal set; }

    // QueueDirectory - $queue_directory (the working directory).
    public string QueueDirectory => Conf.Eval("queue_directory");
}

public sealed class ClientConnection : IDisposable
{
    private readonly Socket? socket;

    internal ClientConnection(Socket socket)
    {
        this.socket = socket;
        Stream = new NetworkStream(socket, ownsSocket: true);
        Fd = (int)socket.Handle;
    }

    internal ClientConnection(Stream stream)
    {
        Stream = stream;
        Fd = -1;
    }

    public Stream Stream { get; }

    // State - per-connection data of a multi-client service.
    public object? State { get; set; }

    // Fd - the descriptor (-1 in stand-alone mode).
    public int Fd { get; }

    public bool Disconnected { get; private set; }

    // PassAttributes - the attributes that came with a descriptor handed
    // over on a master.cf "pass" service (client_address, client_port,
    // server_address, server_port from postscreen), or null.
    public System.Collections.Generic.IReadOnlyDictionary<string, string>? PassAttributes { get; internal set; }

    // Peer - the client socket, when there is one.
    public Socket? Socket => socket;

    // Disconnect - the service is done with this client (multi server).
    public void Disconnect() => Disconnected = true;

    public void Dispose()
    {
        try
        {
            Stream.Dispose();
        }
        catch (IOException)
        {
            // The peer went away: nothing to flush to.
        }
    }
}

public sealed class ServerOptions
{
    // PreInit - before chroot and dropping privileges (open tables here).
    public Action<ServerContext>? PreInit { get; set; }

    // PostInit - after chroot and dropping privileges.
    public Action<ServerContext>? PostInit { get; set; }

    // Loop - before each wait; returns the longest wait in seconds, or -1.
    public Func<ServerContext, int>? Loop { get; set; }

    // PreAccept - before a client is accepted (e.g. check table changes).
    public Action<ServerContext>? PreAccept { get; set; }

    // PostAccept - right after a client connects (multi server): e.g. the
    // protocol announcement some services send first.
    public Action<ServerContext, ClientConnection>? PostAccept { get; set; }

    // PreDisconnect - a multi-server client is about to be closed (by the
    // service or at end-of-file): drop per-client state here.
    public Action<ServerContext, ClientConnection>? PreDisconnect { get; set; }

    // OnExit - before the process exits normally.
    public Action<ServerContext>? OnExit { get; set; }

    // Solitary - the service needs a process limit of 1.
    public bool Solitary { get; set; }

    // Unlimited - the service needs a process limit of 0.
    public bool Unlimited { get; set; }

    // Privileged - the service must run with root privileges.
    public bool Privileged { get; set; }

    // InFlowDelay - take a mail flow token before each client, or pause
    // $in_flow_delay seconds when there is none (mail receiving servers).
    public bool InFlowDelay { get; set; }

    // NoUseLimit - ignore max_use (the process lives until idle or stopped).
    public bool NoUseLimit { get; set; }

    // Timer - called each time a Loop-requested wait expires.
    public Action<ServerContext>? Timer { get; set; }

    // WatchFds - more descriptors for a trigger server's wait (asked for
    // before each wait); FdReady runs for each one that has input or an
    // error (the queue manager's delivery-agent connections).
    public Func<ServerContext, System.Collections.Generic.IReadOnlyList<int>>? WatchFds { get; set; }

    public Action<ServerContext, int>? FdReady { get; set; }
}
