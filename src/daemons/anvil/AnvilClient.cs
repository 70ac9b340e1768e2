// NAME
//	AnvilClient - the client side of the anvil(8) connection/rate service
// POSTFIX
//	src/global/anvil_clnt.c
// DESCRIPTION
//	Talks to private/anvil over the attribute protocol (one persistent,
//	reconnecting stream). Each call returns true on success (ANVIL_STAT_OK)
//	and the counter anvil reports; false when anvil cannot be reached.
//	Thread-safe: smtpd serves many sessions from one process.
//	PLACEHOLDER API: the anvil helper replaces the bodies.
namespace Postfix.Daemons.Anvil;

public sealed class AnvilClient : System.IDisposable
{
    // queueDirectory: the process's queue directory (the socket is private/anvil under it).
    public AnvilClient(string? queueDirectory)
    {
        QueueDirectory = queueDirectory;
    }

    public string? QueueDirectory { get; }

    public bool Connect(string service, string addr, out int count, out int rate)
    {
        count = 0;
        rate = 0;
        return false;
    }

    public bool Mail(string service, string addr, out int msgs) { msgs = 0; return false; }

    public bool Rcpt(string service, string addr, out int rcpts) { rcpts = 0; return false; }

    public bool NewTls(string service, string addr, out int newtls) { newtls = 0; return false; }

    public bool NewTlsStatus(string service, string addr, out int newtls) { newtls = 0; return false; }

    public bool Auth(string service, string addr, out int auths) { auths = 0; return false; }

    public bool Disconnect(string service, string addr) => false;

    public void Dispose()
    {
    }
}
