// NAME
//	Milter8 - one Sendmail 8 mail filter application (MTA side)
// POSTFIX
//	src/milter/milter8.c
// DESCRIPTION
//	Speaks the milter protocol: 4-byte length, 1-byte command, data.
//	Connect() opens the socket (inet:host:port, unix:path, local:path)
//	and negotiates version, actions and events (SMFIC_OPTNEG), including
//	a milter's own macro lists. Event() sends the macros of an event and
//	the event, then reads replies until a decision; end-of-message
//	modification requests go to the IMilterEditor of the list. The state
//	machine (ready, envelope, message, accept/reject connection or
//	message, error) follows the reference so that replies, default
//	actions and skipped events come out the same.
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Milter;

internal sealed class Milter8
{
    // Commands from MTA to filter.
    internal const byte SmficAbort = (byte)'A', SmficBody = (byte)'B', SmficConnect = (byte)'C', SmficMacro = (byte)'D',
        SmficBodyEob = (byte)'E', SmficHelo = (byte)'H', SmficHeader = (byte)'L', SmficMail = (byte)'M', SmficEoh = (byte)'N',
        SmficOptneg = (byte)'O', SmficQuit = (byte)'Q', SmficRcpt = (byte)'R', SmficData = (byte)'T', SmficUnknown = (byte)'U',
        SmficQuitNc = (byte)'K';

    // Replies from filter to MTA.
    internal const byte SmfirAddRcpt = (byte)'+', SmfirDelRcpt = (byte)'-', SmfirAccept = (byte)'a', SmfirReplBody = (byte)'b',
        SmfirContinue = (byte)'c', SmfirDiscard = (byte)'d', SmfirConnFail = (byte)'f', SmfirChgHeader = (byte)'m',
        SmfirProgress = (byte)'p', SmfirReject = (byte)'r', SmfirTempfail = (byte)'t', SmfirShutdown = (byte)'4',
        SmfirAddHeader = (byte)'h', SmfirInsHeader = (byte)'i', SmfirReplyCode = (byte)'y', SmfirQuarantine = (byte)'q',
        SmfirSkip = (byte)'s', SmfirChgFrom = (byte)'e', SmfirAddRcptPar = (byte)'2', SmfirSetSymList = (byte)'l';

    // Protocol flags (SMFIP_*).
    internal const int NoConnect = 1 << 0, NoHelo = 1 << 1, NoMail = 1 << 2, NoRcpt = 1 << 3, NoBody = 1 << 4,
        NoHdrs = 1 << 5, NoEoh = 1 << 6, NrHdr = 1 << 7, NoUnknown = 1 << 8, NoData = 1 << 9, Skip = 1 << 10,
        RcptRej = 1 << 11, NrConn = 1 << 12, NrHelo = 1 << 13, NrMail = 1 << 14, NrRcpt = 1 << 15, NrData = 1 << 16,
        NrUnkn = 1 << 17, NrEoh = 1 << 18, NrBody = 1 << 19, HdrLeadSpc = 1 << 20;

    internal const int NoSendMask = NoConnect | NoHelo | NoMail | NoRcpt | NoBody | NoHdrs | NoEoh | NoUnknown | NoData;
    internal const int NoReplyMask = NrConn | NrHelo | NrMail | NrRcpt | NrData | NrUnkn | NrHdr | NrEoh | NrBody;
    internal const int V2Mask = NoConnect | NoHelo | NoMail | NoRcpt | NoBody | NoHdrs | NoEoh;
    internal const int V3Mask = V2Mask | NoUnknown;
    internal const int V4Mask = V3Mask | NoData;
    internal const int V6Mask = V4Mask | Skip | RcptRej | NoReplyMask | HdrLeadSpc;

    // Actions (SMFIF_*) that we allow.
    internal const int MyActions = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8);

    // States.
    internal const int StatError = 1, StatClosed = 2, StatReady = 3, StatEnvelope = 4, StatMessage = 5,
        StatAcceptCon = 6, StatAcceptMsg = 7, StatRejectCon = 8;

    internal const int ChunkSize = 65535;
    private const int MaxData = int.MaxValue / 2;

    public const int FlagWantRcptRej = 1;

    private static readonly (string Name, int Mask, int Version)[] ProtocolNames =
    [
        ("6", V6Mask, 6), ("4", V4Mask, 4), ("3", V3Mask, 3), ("2", V2Mask, 2), ("no_header_reply", NrHdr, 0),
    ];

    public readonly string Name;
    public int Flags;
    public MilterMacros? Macros;
    public readonly int ConnTimeout, CmdTimeout, MsgTimeout;
    private readonly string? protocol;
    public readonly string DefAction;
    public int Version, RqMask, EvMask, NpMask;
    public int State = StatClosed;
    private string? defReply;
    private int skipEventType;
    private Socket? sock;
    private readonly Milters parent;
    private readonly byte[] inBuf = new byte[8192];
    private int inStart, inEnd;
    private readonly MemoryStream body = new();

    public Milter8(string name, int connTimeout, int cmdTimeout, int msgTimeout, string? protocol, string defAction, Milters parent)
    {
        Name = name;
        ConnTimeout = connTimeout;
        CmdTimeout = cmdTimeout;
        MsgTimeout = msgTimeout;
        this.protocol = protocol;
        DefAction = defAction;
        this.parent = parent;
    }

    public bool Active => sock != null && (State == StatEnvelope || State == StatReady);

    public Socket? Socket => sock;

    // Adopt - the socket of a milter received from smtpd.
    public void Adopt(Socket s)
    {
        // Blocking I/O with timeouts, whatever mode the sender left it in.
        s.Blocking = true;
        sock = s;
        SetTimeout(CmdTimeout);
    }

    private string? DefReply(string? reply)
    {
        defReply = reply;
        return defReply;
    }

    private void Poison()
    {
        if (sock != null)
        {
            try
            {
                sock.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            sock.Dispose();
            sock = null;
        }
    }

    // ConfError - milter8_conf_error().
    private int ConfError()
    {
        Poison();
        string? reply;
        if (string.Equals(DefAction, "accept", StringComparison.OrdinalIgnoreCase))
            reply = null;
        else if (string.Equals(DefAction, "quarantine", StringComparison.OrdinalIgnoreCase))
            reply = "H";
        else
            reply = "451 4.3.5 Server configuration problem - try again later";
        DefReply(reply);
        return State = StatError;
    }

    // CommError - milter8_comm_error().
    private int CommError()
    {
        Poison();
        string? reply;
        if (string.Equals(DefAction, "accept", StringComparison.OrdinalIgnoreCase))
            reply = null;
        else if (string.Equals(DefAction, "reject", StringComparison.OrdinalIgnoreCase))
            reply = "550 5.5.0 Service unavailable";
        else if (string.Equals(DefAction, "tempfail", StringComparison.OrdinalIgnoreCase))
            reply = "451 4.7.1 Service unavailable - try again later";
        else if (string.Equals(DefAction, "quarantine", StringComparison.OrdinalIgnoreCase))
            reply = "H";
        else
        {
            Msg.Warn($"milter {Name}: unrecognized default action: {DefAction}");
            reply = "451 4.3.5 Server configuration problem - try again later";
        }
        DefReply(reply);
        return State = StatError;
    }

    private void CloseStream()
    {
        if (sock != null)
        {
            sock.Dispose();
            sock = null;
        }
        inStart = inEnd = 0;
        State = StatClosed;
    }

    private void SetTimeout(int seconds)
    {
        if (sock == null)
            return;
        var ms = seconds > 0 ? (int)Math.Min(int.MaxValue, seconds * 1000L) : 0;
        sock.ReceiveTimeout = ms;
        sock.SendTimeout = ms;
    }

    // I/O errors read as errno text, as %m would print them.
    private int lastErrno;

    private static int ErrnoOf(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.TimedOut or SocketError.WouldBlock => 110,
        SocketError.ConnectionReset => 104,
        SocketError.ConnectionRefused => 111,
        SocketError.Shutdown or SocketError.NotConnected => 32,
        _ => e.ErrorCode > 0 && e.ErrorCode < 200 ? e.ErrorCode : 5,
    };

    private bool Fill()
    {
        if (sock == null)
            return false;
        if (inStart == inEnd)
            inStart = inEnd = 0;
        try
        {
            var n = sock.Receive(inBuf, inEnd, inBuf.Length - inEnd, SocketFlags.None);
            if (n <= 0)
            {
                lastErrno = 0;
                return false;
            }
            inEnd += n;
            return true;
        }
        catch (SocketException e)
        {
            lastErrno = ErrnoOf(e);
            return false;
        }
        catch (ObjectDisposedException)
        {
            lastErrno = 9;
            return false;
        }
    }

    private bool ReadExact(Span<byte> dest)
    {
        var got = 0;
        while (got < dest.Length)
        {
            if (inStart == inEnd && !Fill())
                return false;
            var n = Math.Min(dest.Length - got, inEnd - inStart);
            inBuf.AsSpan(inStart, n).CopyTo(dest[got..]);
            inStart += n;
            got += n;
        }
        return true;
    }

    private int ReadByteOrEof()
    {
        if (inStart == inEnd && !Fill())
            return -1;
        return inBuf[inStart++];
    }

    private string ErrText => Sys.StrError(lastErrno);

    private static string SmficName(byte ev) => ev switch
    {
        SmficAbort => "SMFIC_ABORT", SmficBody => "SMFIC_BODY", SmficConnect => "SMFIC_CONNECT", SmficMacro => "SMFIC_MACRO",
        SmficBodyEob => "SMFIC_BODYEOB", SmficHelo => "SMFIC_HELO", SmficHeader => "SMFIC_HEADER", SmficMail => "SMFIC_MAIL",
        SmficEoh => "SMFIC_EOH", SmficOptneg => "SMFIC_OPTNEG", SmficQuit => "SMFIC_QUIT", SmficRcpt => "SMFIC_RCPT",
        SmficData => "SMFIC_DATA", SmficUnknown => "SMFIC_UNKNOWN", SmficQuitNc => "SMFIC_QUIT_NC",
        _ => "(unknown MTA event)",
    };

    private static string? SmfirName(byte r) => r switch
    {
        SmfirAddRcpt => "SMFIR_ADDRCPT", SmfirDelRcpt => "SMFIR_DELRCPT", SmfirAccept => "SMFIR_ACCEPT",
        SmfirReplBody => "SMFIR_REPLBODY", SmfirContinue => "SMFIR_CONTINUE", SmfirDiscard => "SMFIR_DISCARD",
        SmfirConnFail => "SMFIR_CONN_FAIL", SmfirChgHeader => "SMFIR_CHGHEADER", SmfirProgress => "SMFIR_PROGRESS",
        SmfirReject => "SMFIR_REJECT", SmfirTempfail => "SMFIR_TEMPFAIL", SmfirShutdown => "SMFIR_SHUTDOWN",
        SmfirAddHeader => "SMFIR_ADDHEADER", SmfirInsHeader => "SMFIR_INSHEADER", SmfirReplyCode => "SMFIR_REPLYCODE",
        SmfirQuarantine => "SMFIR_QUARANTINE", SmfirSkip => "SMFIR_SKIP", SmfirChgFrom => "SMFIR_CHGFROM",
        SmfirAddRcptPar => "SMFIR_ADDRCPT_PAR", SmfirSetSymList => "SMFIR_SETSYMLIST",
        _ => null,
    };

    // Packet - the command data builder (MILTER8_DATA_*).
    internal sealed class Packet
    {
        private readonly MemoryStream data = new();

        public Packet Str(string s)
        {
            var b = Encoding.Latin1.GetBytes(s);
            data.Write(b);
            data.WriteByte(0);
            return this;
        }

        public Packet Octet(byte b)
        {
            data.WriteByte(b);
            return this;
        }

        public Packet NShort(int v)
        {
            Span<byte> b = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)v);
            data.Write(b);
            return this;
        }

        public Packet Long(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, v);
            data.Write(b);
            return this;
        }

        // Endpoint - the SMFIC_CONNECT address part: family code, port,
        // address (only the family code when it is unknown).
        public Packet Endpoint(int family, int port, string addr)
        {
            var code = family switch { 2 => (byte)'4', 10 => (byte)'6', 1 => (byte)'L', _ => (byte)'U' };
            if (code == (byte)'U')
                return Octet(code);
            return Octet(code).NShort(code == (byte)'L' ? 0 : port).Str(addr);
        }

        public Packet Argv(IEnumerable<string> argv)
        {
            foreach (var a in argv)
                Str(a);
            return this;
        }

        public Packet Buffer(ReadOnlySpan<byte> b)
        {
            data.Write(b);
            return this;
        }

        // Encode - length (1 + data), command, data.
        public byte[] Encode(byte command)
        {
            var payload = data.ToArray();
            var pkt = new byte[5 + payload.Length];
            BinaryPrimitives.WriteUInt32BigEndian(pkt, (uint)(1 + payload.Length));
            pkt[4] = command;
            payload.CopyTo(pkt, 5);
            return pkt;
        }
    }

    // WriteCmd - milter8_write_cmd(): true on error.
    private bool WriteCmd(byte command, Packet? p)
    {
        var bytes = (p ?? new Packet()).Encode(command);
        try
        {
            if (sock == null)
                throw new SocketException((int)SocketError.NotConnected);
            var off = 0;
            while (off < bytes.Length)
                off += sock.Send(bytes, off, bytes.Length - off, SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            lastErrno = e is SocketException se ? ErrnoOf(se) : 9;
            Msg.Warn($"milter {Name}: error writing command: {ErrText}");
            CommError();
        }
        return State == StatError;
    }

    // ReadResp - milter8_read_resp(): 0, or the error state.
    private int ReadResp(byte ev, out byte cmd, out long dataLen)
    {
        cmd = 0;
        dataLen = 0;
        Span<byte> len = stackalloc byte[4];
        if (!ReadExact(len))
        {
            Msg.Warn($"milter {Name}: can't read {SmficName(ev)} reply packet header: {ErrText}");
            return CommError();
        }
        long pktLen = BinaryPrimitives.ReadUInt32BigEndian(len);
        if (pktLen > int.MaxValue)
            pktLen -= 1L << 32;
        if (pktLen < 1)
        {
            Msg.Warn($"milter {Name}: bad packet length: {pktLen}");
            return CommError();
        }
        if (pktLen > MaxData)
        {
            Msg.Warn($"milter {Name}: unreasonable packet length: {pktLen} > {MaxData}");
            return CommError();
        }
        var c = ReadByteOrEof();
        if (c < 0)
        {
            Msg.Warn($"milter {Name}: EOF while reading command code: {ErrText}");
            return CommError();
        }
        cmd = (byte)c;
        dataLen = pktLen - 1;
        return 0;
    }

    // Data readers (milter8_read_data): false after an error.
    private bool ReadLong(ref long dataLen, out uint value)
    {
        value = 0;
        if (dataLen < 4)
        {
            Msg.Warn($"milter {Name}: input packet too short for network long");
            CommError();
            return false;
        }
        Span<byte> b = stackalloc byte[4];
        if (!ReadExact(b))
        {
            Msg.Warn($"milter {Name}: EOF while reading network long: {ErrText}");
            CommError();
            return false;
        }
        dataLen -= 4;
        value = BinaryPrimitives.ReadUInt32BigEndian(b);
        return true;
    }

    private bool ReadString(ref long dataLen, out string value)
    {
        value = "";
        if (dataLen < 1)
        {
            Msg.Warn($"milter {Name}: packet too short for string");
            CommError();
            return false;
        }
        var sb = new StringBuilder();
        for (; ; )
        {
            var ch = ReadByteOrEof();
            if (ch < 0)
            {
                Msg.Warn($"milter8_read_data: milter {Name}: EOF while reading string: {ErrText}");
                CommError();
                return false;
            }
            dataLen -= 1;
            if (ch == 0)
                break;
            sb.Append((char)ch);
            if (dataLen <= 0)
            {
                Msg.Warn($"milter8_read_data: milter {Name}: missing string null termimator");
                CommError();
                return false;
            }
        }
        value = sb.ToString();
        return true;
    }

    private bool ReadBuffer(ref long dataLen, out byte[] value)
    {
        value = new byte[Math.Max(0, dataLen)];
        if (!ReadExact(value))
        {
            Msg.Warn($"milter {Name}: EOF while reading data: {ErrText}");
            CommError();
            return false;
        }
        dataLen = 0;
        return true;
    }

    // ReadEnd - the MILTER8_DATA_END check for left-over data.
    private bool ReadEnd(long dataLen)
    {
        if (dataLen > 0)
        {
            Msg.Warn($"milter8_read_data: left-over data {dataLen} bytes");
            CommError();
            return false;
        }
        return true;
    }

    private static bool InConnectEvent(byte e) => e == SmficConnect || e == SmficHelo;

    // Event - milter8_event(): report an event and receive the reply.
    internal string? Event(byte ev, int skipEventFlag, bool skipReply, List<string>? macros, Packet? args)
    {
        if (sock == null || defReply != null)
        {
            Msg.Warn($"milter8_event: attempt to send event {SmficName(ev)} to milter {Name} after error");
            return defReply;
        }
        if ((skipEventFlag & NpMask) != 0)
            return defReply;
        if (skipEventType != 0)
        {
            if (ev == skipEventType)
                return defReply;
            skipEventType = 0;
        }
        if (Msg.Verbose > 0)
        {
            var sb = new StringBuilder();
            if (macros != null)
                for (var i = 0; i + 1 < macros.Count; i += 2)
                    sb.Append(' ').Append(macros[i]).Append('=').Append(macros[i + 1]);
            Msg.Info($"event: {SmficName(ev)}; macros:{(sb.Length > 0 ? sb.ToString() : " (none)")}");
        }
        if (macros != null)
        {
            if (WriteCmd(SmficMacro, new Packet().Octet(ev).Argv(macros)))
                return defReply;
        }
        if ((skipEventFlag & EvMask) != 0)
            return defReply;
        if (WriteCmd(ev, args))
            return defReply;
        if (skipReply)
            return defReply;

        string? retval = null;
        string? editResp = null;
        List<byte>? bodyLine = null;
        var bodyEditLockout = false;
        var editor = parent.Editor;
        for (var done = false; !done;)
        {
            if (ReadResp(ev, out var cmd, out var dataSize) != 0)
            {
                retval = defReply;
                break;
            }
            if (Msg.Verbose > 0)
                Msg.Info($"reply: {SmfirName(cmd) ?? "unknown"} data {dataSize} bytes");
            if (bodyLine != null && cmd != SmfirReplBody)
            {
                if (editResp == null && bodyLine.Count > 0)
                    editResp = editor?.ReplaceBody(MilterBodyCmd.Line, RecordType.Norm, bodyLine.ToArray());
                if (editResp == null)
                    editResp = editor?.ReplaceBody(MilterBodyCmd.End, 0, null);
                bodyEditLockout = true;
                bodyLine = null;
            }
            switch (cmd)
            {
                case SmfirProgress:
                    if (dataSize != 0)
                        break;
                    continue;
                case SmfirContinue:
                    if (dataSize != 0)
                        break;
                    retval = defReply;
                    done = true;
                    continue;
                case SmfirAccept:
                    if (dataSize != 0)
                        break;
                    if (InConnectEvent(ev))
                    {
                        CloseStream();
                        State = StatAcceptCon;
                    }
                    else
                        State = StatAcceptMsg;
                    retval = defReply;
                    done = true;
                    continue;
                case SmfirDiscard:
                    if (dataSize != 0)
                        break;
                    if (InConnectEvent(ev))
                    {
                        Msg.Warn($"milter {Name}: DISCARD action is not allowed for connect or helo");
                        retval = defReply;
                    }
                    else
                    {
                        State = StatAcceptMsg;
                        retval = "D";
                    }
                    done = true;
                    continue;
                case SmfirReject:
                    if (dataSize != 0)
                        break;
                    if (InConnectEvent(ev))
                    {
                        CloseStream();
                        State = StatRejectCon;
                        retval = DefReply("550 5.7.1 Command rejected");
                    }
                    else
                        retval = "550 5.7.1 Command rejected";
                    done = true;
                    continue;
                case SmfirTempfail:
                    if (dataSize != 0)
                        break;
                    if (InConnectEvent(ev))
                    {
                        CloseStream();
                        State = StatRejectCon;
                        retval = DefReply("451 4.7.1 Service unavailable - try again later");
                    }
                    else
                        retval = "451 4.7.1 Service unavailable - try again later";
                    done = true;
                    continue;
                case SmfirShutdown:
                    if (dataSize != 0)
                        break;
                    CloseStream();
                    State = StatRejectCon;
                    retval = DefReply("S");
                    done = true;
                    continue;
                case SmfirReplyCode:
                    {
                        if (!ReadBuffer(ref dataSize, out var raw))
                        {
                            retval = defReply;
                            done = true;
                            continue;
                        }
                        var text = CString(raw);
                        if (!ReplyCodeOk(text))
                        {
                            Msg.Warn($"milter {Name}: malformed reply: {text}");
                            ConfError();
                            retval = defReply;
                            done = true;
                            continue;
                        }
                        text = UnPercent(text);
                        if (parent.SoftBounce)
                            text = SoftBounce(text);
                        if (InConnectEvent(ev))
                        {
                            CloseStream();
                            State = StatRejectCon;
                            retval = DefReply(text);
                        }
                        else
                            retval = text;
                        done = true;
                        continue;
                    }
                case SmfirQuarantine:
                    if (!ReadBuffer(ref dataSize, out var reason))
                    {
                        retval = defReply;
                        done = true;
                        continue;
                    }
                    parent.QuarantineReason = CString(reason);
                    DefReply("H");
                    continue;
                case SmfirSkip:
                    if (dataSize != 0)
                        break;
                    skipEventType = ev;
                    retval = defReply;
                    done = true;
                    continue;
                default:
                    if (ev == SmficBodyEob)
                    {
                        var space = (EvMask & HdrLeadSpc) != 0 ? "" : " ";
                        switch (cmd)
                        {
                            case SmfirChgHeader:
                                {
                                    if (!ReadLong(ref dataSize, out var index) || !ReadString(ref dataSize, out var hname)
                                        || !ReadString(ref dataSize, out var hvalue) || !ReadEnd(dataSize))
                                    {
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    if (editResp != null)
                                        continue;
                                    if (index == 0)
                                        index = 1;
                                    if ((int)index < 1)
                                    {
                                        Msg.Warn($"milter {Name}: bad change header index: {(int)index}");
                                        ConfError();
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    if (hname.Length == 0)
                                    {
                                        Msg.Warn($"milter {Name}: null change header name");
                                        ConfError();
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    editResp = hvalue.Length > 0
                                        ? editor?.UpdateHeader((int)index, hname, space, hvalue)
                                        : editor?.DeleteHeader((int)index, hname);
                                    continue;
                                }
                            case SmfirAddHeader:
                                {
                                    if (!ReadString(ref dataSize, out var hname) || !ReadString(ref dataSize, out var hvalue)
                                        || !ReadEnd(dataSize))
                                    {
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    if (editResp != null)
                                        continue;
                                    editResp = editor?.AddHeader(hname, space, hvalue);
                                    continue;
                                }
                            case SmfirInsHeader:
                                {
                                    if (!ReadLong(ref dataSize, out var index) || !ReadString(ref dataSize, out var hname)
                                        || !ReadString(ref dataSize, out var hvalue) || !ReadEnd(dataSize))
                                    {
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    if (editResp != null)
                                        continue;
                                    if ((int)index + 1 < 1)
                                    {
                                        Msg.Warn($"milter {Name}: bad insert header index: {(int)index}");
                                        ConfError();
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    editResp = editor?.InsertHeader((int)index + 1, hname, space, hvalue);
                                    continue;
                                }
                            case SmfirChgFrom:
                            case SmfirAddRcptPar:
                                {
                                    if (!ReadString(ref dataSize, out var addr))
                                    {
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    var esmtp = "";
                                    if (dataSize > 0 && (!ReadString(ref dataSize, out esmtp) || !ReadEnd(dataSize)))
                                    {
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    if (editResp != null)
                                        continue;
                                    editResp = cmd == SmfirChgFrom ? editor?.ChangeFrom(addr, esmtp) : editor?.AddRcpt(addr, esmtp);
                                    continue;
                                }
                            case SmfirAddRcpt:
                            case SmfirDelRcpt:
                                {
                                    if (!ReadString(ref dataSize, out var addr) || !ReadEnd(dataSize))
                                    {
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    if (editResp != null)
                                        continue;
                                    editResp = cmd == SmfirAddRcpt ? editor?.AddRcpt(addr, "") : editor?.DeleteRcpt(addr);
                                    continue;
                                }
                            case SmfirReplBody:
                                {
                                    if (bodyEditLockout)
                                    {
                                        Msg.Warn($"milter {Name}: body replacement requests can't currently be mixed with other requests");
                                        ConfError();
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    if (!ReadBuffer(ref dataSize, out var chunk))
                                    {
                                        retval = defReply;
                                        done = true;
                                        continue;
                                    }
                                    if (editResp != null)
                                        continue;
                                    if (bodyLine == null)
                                    {
                                        bodyLine = new List<byte>();
                                        editResp = editor?.ReplaceBody(MilterBodyCmd.Start, 0, null);
                                    }
                                    for (var i = 0; editResp == null && i < chunk.Length; i++)
                                    {
                                        var ch = chunk[i];
                                        if (ch == '\n')
                                        {
                                            if (bodyLine.Count > 0 && bodyLine[^1] == '\r')
                                                bodyLine.RemoveAt(bodyLine.Count - 1);
                                            editResp = editor?.ReplaceBody(MilterBodyCmd.Line, RecordType.Norm, bodyLine.ToArray());
                                            bodyLine.Clear();
                                        }
                                        else
                                        {
                                            if (bodyLine.Count == parent.LineLimit)
                                            {
                                                editResp = editor?.ReplaceBody(MilterBodyCmd.Line, RecordType.Cont, bodyLine.ToArray());
                                                bodyLine.Clear();
                                            }
                                            bodyLine.Add(ch);
                                        }
                                    }
                                    continue;
                                }
                        }
                    }
                    Msg.Warn($"milter {Name}: unexpected filter response {SmfirName(cmd) ?? "(unknown filter reply)"} after event {SmficName(ev)}");
                    CommError();
                    retval = defReply;
                    done = true;
                    continue;
            }
            // A reply that must have no data had some.
            Msg.Warn($"milter {Name}: reply {SmfirName(cmd) ?? "unknown"} was followed by {dataSize} data bytes");
            CommError();
            retval = defReply;
            done = true;
        }
        if (editResp != null && (retval == null || "DS4".IndexOf(retval[0]) < 0))
            retval = editResp;
        return retval;
    }

    private static string CString(byte[] raw)
    {
        var n = Array.IndexOf(raw, (byte)0);
        return Encoding.Latin1.GetString(raw, 0, n >= 0 ? n : raw.Length);
    }

    internal static bool ReplyCodeOk(string s) =>
        s.Length >= 4 && (s[0] == '4' || s[0] == '5') && char.IsAsciiDigit(s[1]) && char.IsAsciiDigit(s[2])
        && (s[3] == ' ' || s[3] == '-') && !(s.Length > 4 && char.IsAsciiDigit(s[4]) && s[4] != s[0]);

    // UnPercent - "%%" becomes "%", a lone "%" goes away.
    internal static string UnPercent(string s)
    {
        if (s.IndexOf('%') < 0)
            return s;
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%')
            {
                i++;
                if (i >= s.Length)
                    break;
            }
            sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static string SoftBounce(string s)
    {
        var c = s.ToCharArray();
        for (var cp = 0; ;)
        {
            if (c[cp] == '5')
            {
                c[cp] = '4';
                if (cp + 4 < c.Length && c[cp + 4] == '5')
                    c[cp + 4] = '4';
            }
            var next = s.IndexOf("\r\n", cp, StringComparison.Ordinal);
            if (next < 0 || next + 2 >= c.Length)
                break;
            cp = next + 2;
        }
        return new string(c);
    }

    // Connect - milter8_connect().
    public void Connect()
    {
        uint myVersion = 0;
        var myEvents = 0;
        foreach (var name in (protocol ?? "").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var idx = Array.FindIndex(ProtocolNames, p => p.Name == name);
            if (idx < 0 || (ProtocolNames[idx].Version != 0 && myVersion != 0))
            {
                Msg.Warn($"milter {Name}: bad protocol information: {name}");
                ConfError();
                return;
            }
            if (ProtocolNames[idx].Version != 0)
                myVersion = (uint)ProtocolNames[idx].Version;
            myEvents |= ProtocolNames[idx].Mask;
        }
        if (myEvents == 0 || myVersion == 0)
        {
            Msg.Warn($"milter {Name}: no protocol version information");
            ConfError();
            return;
        }
        NpMask = NoSendMask & ~myEvents;

        var colon = Name.IndexOf(':');
        if (colon <= 0 || colon + 1 >= Name.Length)
        {
            Msg.Warn($"Milter service needs transport:endpoint instead of \"{Name}\"");
            ConfError();
            return;
        }
        var transport = Name[..colon];
        var endpoint = Name[(colon + 1)..];
        try
        {
            if (transport == "inet")
                sock = InetConnect(endpoint, ConnTimeout);
            else if (transport == "unix" || transport == "local")
                sock = UnixConnect(endpoint, ConnTimeout);
            else
            {
                Msg.Warn($"invalid transport name: {transport} in Milter service: {Name}");
                ConfError();
                return;
            }
        }
        catch (SocketException e)
        {
            Msg.Warn($"connect to Milter service {Name}: {Sys.StrError(ErrnoOf(e))}");
            CommError();
            return;
        }
        catch (ArgumentException)
        {
            Msg.Warn($"connect to Milter service {Name}: {Sys.StrError(22)}");
            CommError();
            return;
        }
        inStart = inEnd = 0;
        SetTimeout(CmdTimeout);
        if (WriteCmd(SmficOptneg, new Packet().Long(myVersion).Long(MyActions).Long((uint)myEvents)))
        {
            Msg.Warn($"milter {Name}: write error in initial handshake");
            return;
        }
        if (ReadResp(SmficOptneg, out var cmd, out var dataLen) != 0)
        {
            Msg.Warn($"milter {Name}: read error in initial handshake");
            return;
        }
        if (cmd != SmficOptneg)
        {
            Msg.Warn($"milter {Name}: unexpected reply \"{(char)cmd}\" in initial handshake");
            CommError();
            return;
        }
        if (!ReadLong(ref dataLen, out var v) || !ReadLong(ref dataLen, out var rq) || !ReadLong(ref dataLen, out var evm))
        {
            Msg.Warn($"milter {Name}: read error in initial handshake");
            return;
        }
        Version = (int)v;
        RqMask = (int)rq;
        EvMask = (int)evm;
        if (Version > (int)myVersion)
        {
            Msg.Warn($"milter {Name}: protocol version {Version} conflict with MTA protocol version {myVersion}");
            CommError();
            return;
        }
        if ((RqMask & MyActions) != RqMask)
        {
            Msg.Warn($"milter {Name}: request mask 0x{RqMask:x} conflict with MTA request mask 0x{MyActions:x}");
            CommError();
            return;
        }
        if ((EvMask & RcptRej) != 0)
            Flags |= FlagWantRcptRej;
        if (Version < (int)myVersion)
        {
            var found = false;
            foreach (var p in ProtocolNames)
            {
                if (p.Version > 0 && p.Version <= Version)
                {
                    NpMask |= NoSendMask & ~p.Mask;
                    found = true;
                    break;
                }
            }
            if (!found)
                Msg.Warn($"milter {Name}: unexpected protocol version {Version}");
        }
        State = StatReady;
        DefReply(null);
        skipEventType = 0;
        if (dataLen > 0)
        {
            Macros = MilterMacros.Empty();
            while (dataLen > 0)
            {
                if (!ReadLong(ref dataLen, out var macType) || !ReadString(ref dataLen, out var list))
                    break;
                if (!Macros.SetByClass(macType, list))
                    Msg.Warn($"milter {Name}: ignoring unknown macro type {macType}");
            }
        }
    }

    private static Socket InetConnect(string endpoint, int timeout)
    {
        string host, port;
        if (endpoint.StartsWith('['))
        {
            var close = endpoint.IndexOf(']');
            if (close < 0 || close + 1 >= endpoint.Length || endpoint[close + 1] != ':')
                throw new ArgumentException(endpoint);
            host = endpoint[1..close];
            port = endpoint[(close + 2)..];
        }
        else
        {
            var c = endpoint.LastIndexOf(':');
            if (c < 0)
                throw new ArgumentException(endpoint);
            host = endpoint[..c];
            port = endpoint[(c + 1)..];
        }
        if (!int.TryParse(port, out var portNum))
            portNum = port switch { "smtp" => 25, _ => throw new ArgumentException(endpoint) };
        IPAddress[] addrs;
        if (IPAddress.TryParse(host, out var ip))
            addrs = [ip];
        else
            addrs = Dns.GetHostAddresses(host.Length == 0 ? "localhost" : host);
        SocketException? last = null;
        foreach (var a in addrs)
        {
            var s = new Socket(a.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                ConnectWithTimeout(s, new IPEndPoint(a, portNum), timeout);
                s.NoDelay = true;
                return s;
            }
            catch (SocketException e)
            {
                s.Dispose();
                last = e;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private static Socket UnixConnect(string path, int timeout)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            ConnectWithTimeout(s, new UnixDomainSocketEndPoint(path), timeout);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    // ConnectWithTimeout - a non-blocking connect, a wait for it to
    // complete, then blocking mode again. No async socket operation: that
    // would leave the descriptor non-blocking for good, and the descriptor
    // (with its file status flags) is what smtpd hands over to cleanup.
    private static void ConnectWithTimeout(Socket s, EndPoint ep, int timeout)
    {
        if (timeout <= 0)
        {
            s.Connect(ep);
            return;
        }
        s.Blocking = false;
        try
        {
            s.Connect(ep);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            if (!s.Poll(TimeSpan.FromSeconds(timeout), SelectMode.SelectWrite))
                throw new SocketException((int)SocketError.TimedOut);
            if (s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int err && err != 0)
                throw new SocketException(err);
        }
        s.Blocking = true;
    }

    // Event entry points (milter8_conn_event ... milter8_unknown_event).
    public string? ConnEvent(string clientName, string clientAddr, string? clientPort, int family, List<string>? macros)
    {
        switch (State)
        {
            case StatError:
                return defReply;
            case StatReady:
                {
                    int port;
                    if (clientPort == null)
                        port = 0;
                    else if (clientPort.Length == 0 || !AllDigits(clientPort) || !int.TryParse(clientPort, out port) || port > 65535)
                    {
                        Msg.Warn($"milter {Name}: bad client port number {clientPort}");
                        port = 0;
                    }
                    State = StatEnvelope;
                    var skipReply = (EvMask & NrConn) != 0;
                    var smName = clientName != "unknown" ? clientName
                        : clientAddr == "unknown" ? clientName : "[" + clientAddr + "]";
                    return Event(SmficConnect, NoConnect, skipReply, macros,
                        new Packet().Str(smName).Endpoint(family, port, clientAddr));
                }
            default:
                Msg.Panic($"milter8_conn_event: milter {Name}: bad state {State}");
                return null;
        }
    }

    private static bool AllDigits(string s)
    {
        foreach (var c in s)
            if (!char.IsAsciiDigit(c))
                return false;
        return s.Length > 0;
    }

    public string? HeloEvent(string helo, List<string>? macros)
    {
        switch (State)
        {
            case StatError:
            case StatAcceptCon:
            case StatRejectCon:
                return defReply;
            case StatEnvelope:
            case StatAcceptMsg:
                return Event(SmficHelo, NoHelo, (EvMask & NrHelo) != 0, macros, new Packet().Str(helo));
            default:
                Msg.Panic($"milter8_helo_event: milter {Name}: bad state {State}");
                return null;
        }
    }

    public string? MailEvent(IReadOnlyList<string> argv, List<string>? macros)
    {
        switch (State)
        {
            case StatError:
            case StatAcceptCon:
            case StatRejectCon:
                return defReply;
            case StatEnvelope:
                return Event(SmficMail, NoMail, (EvMask & NrMail) != 0, macros, new Packet().Argv(argv));
            default:
                Msg.Panic($"milter8_mail_event: milter {Name}: bad state {State}");
                return null;
        }
    }

    public string? RcptEvent(IReadOnlyList<string> argv, List<string>? macros)
    {
        switch (State)
        {
            case StatError:
            case StatAcceptCon:
            case StatRejectCon:
            case StatAcceptMsg:
                return defReply;
            case StatEnvelope:
                return Event(SmficRcpt, NoRcpt, (EvMask & NrRcpt) != 0, macros, new Packet().Argv(argv));
            default:
                Msg.Panic($"milter8_rcpt_event: milter {Name}: bad state {State}");
                return null;
        }
    }

    public string? DataEvent(List<string>? macros)
    {
        switch (State)
        {
            case StatError:
            case StatAcceptCon:
            case StatRejectCon:
            case StatAcceptMsg:
                return defReply;
            case StatEnvelope:
                return Event(SmficData, NoData, (EvMask & NrData) != 0, macros, null);
            default:
                Msg.Panic($"milter8_data_event: milter {Name}: bad state {State}");
                return null;
        }
    }

    public string? UnknownEvent(string command, List<string>? macros)
    {
        switch (State)
        {
            case StatError:
            case StatAcceptCon:
            case StatRejectCon:
            case StatAcceptMsg:
                return defReply;
            case StatEnvelope:
                return Event(SmficUnknown, NoUnknown, (EvMask & NrUnkn) != 0, macros, new Packet().Str(command));
            default:
                Msg.Panic($"milter8_unknown_event: milter {Name}: bad state {State}");
                return null;
        }
    }

    public string? OtherEvent() => defReply;

    public void Abort()
    {
        switch (State)
        {
            case StatClosed:
            case StatReady:
                return;
            case StatError:
            case StatAcceptCon:
            case StatRejectCon:
                break;
            default:
                WriteCmd(SmficAbort, null);
                if (State != StatError)
                    State = StatEnvelope;
                break;
        }
    }

    public void DisconnectEvent()
    {
        switch (State)
        {
            case StatClosed:
            case StatReady:
                return;
            case StatError:
            case StatAcceptCon:
            case StatRejectCon:
                break;
            default:
                WriteCmd(SmficQuit, null);
                break;
        }
        CloseStream();
        DefReply(null);
    }

    public void Free()
    {
        sock?.Dispose();
        sock = null;
    }

    // Message - milter8_message(): the queue file content from dataOffset.
    public string? Message(byte[] queueFile, string path, long dataOffset, List<string>? eohMacros, List<string>? eodMacros,
        IReadOnlyList<string> autoHdrs)
    {
        switch (State)
        {
            case StatError:
            case StatAcceptCon:
            case StatRejectCon:
            case StatAcceptMsg:
                return defReply;
            case StatEnvelope:
                break;
            default:
                Msg.Panic($"milter8_message: milter {Name}: bad state {State}");
                return null;
        }
        var ctx = new MessageContext(this, eohMacros, eodMacros, autoHdrs);
        State = StatMessage;
        body.SetLength(0);
        SetTimeout(MsgTimeout);
        var reader = new RecordReader(queueFile, path);
        if (!reader.Seek(dataOffset))
            return "451 4.3.0 Queue file write error";
        var parser = new ContentParser(ctx);
        for (; ; )
        {
            var type = reader.Read(out var rec);
            if (type < 0)
            {
                Msg.Warn($"milter8_message: error reading {path}: {Sys.StrError(0)}");
                ctx.Resp = "450 4.3.0 Queue file write error";
                break;
            }
            parser.Update(type, rec);
            if (ctx.Done)
                break;
            if (type != RecordType.Norm && type != RecordType.Cont)
                break;
        }
        if (sock != null)
            SetTimeout(CmdTimeout);
        if (State == StatMessage || State == StatAcceptMsg)
            State = StatEnvelope;
        return ctx.Resp;
    }

    internal sealed class MessageContext(Milter8 milter, List<string>? eoh, List<string>? eod, IReadOnlyList<string> autoHdrs)
    {
        public string? Resp;
        private int autoDone;
        private bool firstBody = true;

        public bool Done => milter.State != StatMessage || Resp != null;

        public void Header(string header)
        {
            if (Done)
                return;
            for (var i = 0; i < autoHdrs.Count && i < 31; i++)
            {
                if ((autoDone & (1 << i)) == 0 && string.Equals(autoHdrs[i], header, StringComparison.Ordinal))
                {
                    autoDone |= 1 << i;
                    return;
                }
            }
            var nameLen = HeaderText.IsHeader(header);
            var cp = nameLen;
            while (cp < header.Length && (header[cp] == ' ' || header[cp] == '\t'))
                cp++;
            if (cp >= header.Length || header[cp] != ':')
                Msg.Panic("milter8_header: header label not followed by ':'");
            var label = header[..nameLen];
            cp++;
            if ((milter.EvMask & HdrLeadSpc) == 0 && cp < header.Length && header[cp] == ' ')
                cp++;
            if ((milter.EvMask & NoHdrs) != 0)
                return;
            Resp = milter.Event(SmficHeader, NoHdrs, (milter.EvMask & NrHdr) != 0, eoh,
                new Packet().Str(label).Str(header[cp..]));
        }

        public void EndOfHeaders()
        {
            if (Done || (milter.EvMask & NoEoh) != 0)
                return;
            Resp = milter.Event(SmficEoh, NoEoh, (milter.EvMask & NrEoh) != 0, eoh, null);
        }

        public void Body(int type, ReadOnlySpan<byte> text)
        {
            if (Done || (milter.EvMask & NoBody) != 0)
                return;
            if (firstBody)
            {
                firstBody = false;
                return;
            }
            var skipReply = (milter.EvMask & NrBody) != 0;
            var pending = text;
            var addCrLf = type == RecordType.Norm;
            for (; ; )
            {
                while (pending.Length > 0)
                {
                    var space = ChunkSize - (int)milter.body.Length;
                    var count = Math.Min(space, pending.Length);
                    milter.body.Write(pending[..count]);
                    pending = pending[count..];
                    if (milter.body.Length == ChunkSize)
                    {
                        Resp = milter.Event(SmficBody, NoBody, skipReply, eod, new Packet().Buffer(milter.body.ToArray()));
                        if (Done)
                            return;
                        milter.body.SetLength(0);
                    }
                }
                if (!addCrLf)
                    break;
                addCrLf = false;
                pending = "\r\n"u8;
            }
        }

        public void EndOfBody()
        {
            if (Done)
                return;
            if (milter.body.Length > 0)
            {
                Resp = milter.Event(SmficBody, NoBody, (milter.EvMask & NrBody) != 0, eod, new Packet().Buffer(milter.body.ToArray()));
                if (Done)
                    return;
            }
            Resp = milter.Event(SmficBodyEob, 0, false, eod, null);
        }
    }

    // ContentParser - the part of mime_state (MIME disabled) that the
    // milter client needs: headers (with continuation lines joined by
    // newline), end of headers, body records, end of body.
    internal sealed class ContentParser(MessageContext ctx)
    {
        private bool inHeader = true;
        private readonly StringBuilder header = new();
        private bool haveHeader;
        private readonly StringBuilder pendingLine = new();

        public void Update(int type, ReadOnlySpan<byte> rec)
        {
            if (type != RecordType.Norm && type != RecordType.Cont)
            {
                if (inHeader)
                {
                    FlushHeader();
                    ctx.EndOfHeaders();
                    inHeader = false;
                }
                ctx.EndOfBody();
                return;
            }
            if (!inHeader)
            {
                ctx.Body(type, rec);
                return;
            }
            var text = Encoding.Latin1.GetString(rec);
            if (type == RecordType.Cont)
            {
                // A CONT record continues the same logical line.
                pendingLine.Append(text);
                return;
            }
            var line = pendingLine.Length > 0 ? pendingLine.Append(text).ToString() : text;
            pendingLine.Clear();
            if (haveHeader && line.Length > 0 && (line[0] == ' ' || line[0] == '\t'))
            {
                header.Append('\n').Append(line);
                return;
            }
            if (HeaderText.IsHeader(line) > 0)
            {
                FlushHeader();
                header.Append(line);
                haveHeader = true;
                return;
            }
            FlushHeader();
            ctx.EndOfHeaders();
            inHeader = false;
            ctx.Body(RecordType.Norm, Encoding.Latin1.GetBytes(line));
        }

        private void FlushHeader()
        {
            if (!haveHeader)
                return;
            ctx.Header(header.ToString());
            header.Clear();
            haveHeader = false;
        }
    }
}

// HeaderText - is_header(): the length of a header label followed by
// optional white space and ':', otherwise 0.
public static class HeaderText
{
    public static int IsHeader(string s)
    {
        var len = 0;
        var i = 0;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c == ':' && len > 0)
                return len;
            if (c == ' ' || c == '\t')
            {
                if (len == 0)
                    return 0;
                var j = i;
                while (j < s.Length && (s[j] == ' ' || s[j] == '\t'))
                    j++;
                return j < s.Length && s[j] == ':' ? len : 0;
            }
            if (c > 126 || c <= 32 || c == ':')
                return 0;
            len++;
        }
        return 0;
    }
}
