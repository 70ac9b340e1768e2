// NAME
//	FakeSmtpServer - a scripted loopback SMTP/LMTP server for the tests
// DESCRIPTION
//	Greets with Greeting, answers EHLO/LHLO with Features, and answers
//	other commands from Replies (first word or full command prefix,
//	longest match wins; default 250 2.0.0 Ok). It records every command
//	and the message text received after DATA (dot-stuffing undone).
//	With Lmtp set it answers end-of-data once per accepted recipient
//	from DotReplies. HangUpAfter ends the connection after a command.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace Postfix.Daemons.Smtp.Tests;

internal sealed class FakeSmtpServer : IDisposable
{
    private readonly TcpListener listener;
    private readonly Thread thread;

    public FakeSmtpServer()
    {
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        thread = new Thread(Loop) { IsBackground = true };
        thread.Start();
    }

    public int Port { get; }
    public string Greeting { get; set; } = "220 fake.example ESMTP";
    public List<string> Features { get; set; } = new() { "PIPELINING", "SIZE 100000", "8BITMIME", "DSN" };
    public Dictionary<string, string> Replies { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Queue<string> DotReplies { get; } = new();
    public bool Lmtp { get; set; }
    public string? HangUpAfter { get; set; }
    public ConcurrentQueue<string> Commands { get; } = new();
    public ConcurrentQueue<string> Messages { get; } = new();
    public int Connections;
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; set; }
    public bool TlsActive { get; private set; }

    // BreakTls - answer STARTTLS with 220 and then a line of text
    // instead of the TLS handshake, and hang up.
    public bool BreakTls { get; set; }

    private string Reply(string command)
    {
        string? best = null;
        foreach (var (k, v) in Replies)
            if (command.StartsWith(k, StringComparison.OrdinalIgnoreCase) && (best == null || k.Length > best.Length))
                best = k;
        return best != null ? Replies[best] : command.StartsWith("DATA", StringComparison.OrdinalIgnoreCase) ? "354 go" : "250 2.0.0 Ok";
    }

    private void Loop()
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = listener.AcceptTcpClient();
            }
            catch (Exception)
            {
                return;
            }
            Interlocked.Increment(ref Connections);
            try
            {
                Serve(client);
            }
            catch (Exception)
            {
                // Client went away.
            }
            finally
            {
                client.Dispose();
            }
        }
    }

    private void Serve(TcpClient client)
    {
        Stream stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.Latin1);
        var writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
        writer.WriteLine(Greeting);
        if (!Greeting.StartsWith('2'))
        {
            // Like real servers, keep talking until QUIT after a bad greeting.
        }
        var accepted = 0;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            Commands.Enqueue(line);
            var verb = line.Split(' ')[0].ToUpperInvariant();
            if (verb == "STARTTLS" && BreakTls)
            {
                writer.WriteLine("220 2.0.0 Ready to start TLS");
                writer.WriteLine("500 5.5.2 this is not TLS");
                return;
            }
            if (verb == "STARTTLS" && Certificate != null)
            {
                writer.WriteLine("220 2.0.0 Ready to start TLS");
                var ssl = new System.Net.Security.SslStream(stream);
                ssl.AuthenticateAsServer(Certificate);
                stream = ssl;
                TlsActive = true;
                reader = new StreamReader(stream, Encoding.Latin1);
                writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
                continue;
            }
            if (verb is "EHLO" or "LHLO")
            {
                var r = Reply(line);
                if (!r.StartsWith('2'))
                {
                    writer.WriteLine(r);
                    continue;
                }
                writer.WriteLine(Features.Count == 0 ? "250 fake.example" : "250-fake.example");
                for (var i = 0; i < Features.Count; i++)
                    writer.WriteLine((i == Features.Count - 1 ? "250 " : "250-") + Features[i]);
            }
            else if (verb == "DATA")
            {
                var r = Reply(line);
                writer.WriteLine(r);
                if (r.StartsWith('3'))
                {
                    var body = new StringBuilder();
                    while ((line = reader.ReadLine()) != null && line != ".")
                        body.Append(line.StartsWith('.') ? line[1..] : line).Append('\n');
                    Messages.Enqueue(body.ToString());
                    if (HangUpAfter == "DOT")
                        return;
                    var n = Lmtp ? accepted : 1;
                    for (var i = 0; i < n; i++)
                        writer.WriteLine(DotReplies.Count > 0 ? DotReplies.Dequeue() : "250 2.0.0 Ok: queued as ABC123");
                }
            }
            else
            {
                if (HangUpAfter != null && line.StartsWith(HangUpAfter, StringComparison.OrdinalIgnoreCase))
                    return;
                var r = Reply(line);
                if (verb == "RCPT" && r.StartsWith('2'))
                    accepted++;
                if (verb == "MAIL")
                    accepted = 0;
                writer.WriteLine(r);
                if (verb == "QUIT")
                    return;
            }
        }
    }

    public void Dispose() => listener.Stop();
}
