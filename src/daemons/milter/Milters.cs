// NAME
//	Milters - the Sendmail milter protocol client (a list of milters)
// POSTFIX
//	src/milter/milter.c, milter8.c, milter_macros.c (milter.h)
// DESCRIPTION
//	A MILTERS list as smtpd and cleanup use it. Event methods return what
//	milter.c returns: null to go on, otherwise a reply whose first
//	character says what to do: '4' or '5' (a complete SMTP reply to
//	send), 'D' (discard the message), 'H' (quarantine: hold it), 'S'
//	(shut the connection down with 421). smtpd creates the list from
//	smtpd_milters, runs the connect/HELO/MAIL/RCPT/DATA events, and hands
//	the list to cleanup over the cleanup stream (Send/Receive, the
//	reference's attribute format, each milter socket passed as a file
//	descriptor) for the header/body/end-of-message phase. cleanup uses
//	non_smtpd_milters for mail that did not come by SMTP.
//	MacroLookup receives macro names in the canonical "{name}" form
//	("{j}", "{i}", "{client_addr}"); when it knows nothing for a
//	one-letter name it is asked again with the bare letter ("j").
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Milter;

// What a milter's body replacement request means for the editor.
public enum MilterBodyCmd
{
    Start,
    Line,
    End,
}

// IMilterEditor - the queue file edit call-backs (milter_edit_callback).
// Each returns null on success, or an SMTP-like error reply.
public interface IMilterEditor
{
    string? AddHeader(string name, string space, string value);

    // index 1 is the first instance of the named header.
    string? UpdateHeader(int index, string name, string space, string value);

    // index 1 is the first header of the message.
    string? InsertHeader(int index, string name, string space, string value);

    string? DeleteHeader(int index, string name);

    string? ChangeFrom(string sender, string esmtpArgs);

    string? AddRcpt(string recipient, string esmtpArgs);

    string? DeleteRcpt(string recipient);

    string? ReplaceBody(MilterBodyCmd cmd, int recordType, byte[]? line);
}

// IMilterChannel - the cleanup stream as Send/Receive need it.
public interface IMilterChannel
{
    string Path { get; }

    int Fd { get; }

    int Receive(ReadOnlySpan<AttrSpec> spec, Span<AttrValue> values, AttrFlags flags, IDictionary<string, string>? hash = null);

    bool Send(Action<AttrWriter> print, AttrFlags flags);

    // SendRaw - bytes that are no attribute list (the milter count record).
    bool SendRaw(byte[] data);
}

public sealed class Milters : IDisposable
{
    internal const string AttrName = "milter_name", AttrVers = "milter_version", AttrActs = "milter_actions",
        AttrEvts = "milter_events", AttrNpts = "milter_non_events", AttrStat = "milter_state",
        AttrConn = "milter_conn_timeout", AttrCmd = "milter_cmd_timeout", AttrMsg = "milter_msg_timeout",
        AttrAct = "milter_action", AttrMac = "milter_macro_list", AttrDummy = "dummy";

    private readonly List<Milter8> list = new();

    private Milters()
    {
    }

    // The global macro lists (per event class).
    public MilterMacros? Macros { get; private set; }

    // milter_macro_defaults: "{name}" -> value.
    public Dictionary<string, string>? MacroDefaults { get; private set; }

    public IMilterEditor? Editor { get; set; }

    public bool SoftBounce { get; set; }

    public int LineLimit { get; set; } = 2048;

    // The reason text of the last SMFIR_QUARANTINE request.
    public string? QuarantineReason { get; internal set; }

    public int Count => list.Count;

    internal IReadOnlyList<Milter8> List => list;

    // milter_new: from a milter list (smtpd_milters or non_smtpd_milters) and
    // the milter_* parameters of conf; null when the list is empty.
    public static Milters? Create(MailConf conf, string milterList)
    {
        if (string.IsNullOrWhiteSpace(milterList))
            return null;
        var macros = new MilterMacros
        {
            Conn = conf.Eval("milter_connect_macros"),
            Helo = conf.Eval("milter_helo_macros"),
            Mail = conf.Eval("milter_mail_macros"),
            Rcpt = conf.Eval("milter_rcpt_macros"),
            Data = conf.Eval("milter_data_macros"),
            Eoh = conf.Eval("milter_end_of_header_macros"),
            Eod = conf.Eval("milter_end_of_data_macros"),
            Unk = conf.Eval("milter_unknown_command_macros"),
        };
        var m = New(milterList, Time(conf, "milter_connect_timeout"), Time(conf, "milter_command_timeout"),
            Time(conf, "milter_content_timeout"), conf.Eval("milter_protocol"), conf.Eval("milter_default_action"),
            macros, MacroDefaultsCreate(conf.Eval("milter_macro_defaults")));
        m.SoftBounce = conf.Bool("soft_bounce");
        if (int.TryParse(conf.Eval("line_length_limit"), NumberStyles.None, CultureInfo.InvariantCulture, out var ll))
            m.LineLimit = ll;
        return m;
    }

    private static int Time(MailConf conf, string name)
    {
        var v = conf.Eval(name);
        if (!Postfix.Util.ConvTime.TryParse(v, 's', out var seconds))
            Msg.Fatal($"invalid {name}: \"{v}\"");
        return seconds;
    }

    private const string Seps = ", \t\r\n";

    private static bool IsSep(char c) => Seps.IndexOf(c) >= 0;

    // TokQ - mystrtokq(): the next token, where "{...}" groups stay whole.
    internal static string? TokQ(string s, ref int pos)
    {
        while (pos < s.Length && IsSep(s[pos]))
            pos++;
        if (pos >= s.Length)
            return null;
        var start = pos;
        var level = 0;
        for (; pos < s.Length; pos++)
        {
            var c = s[pos];
            if (c == '{')
                level++;
            else if (c == '}' && level > 0)
                level--;
            else if (level == 0 && IsSep(c))
                break;
        }
        return s[start..pos];
    }

    // ExtPar - extpar(): strip "{" and "}" and the white space inside; the
    // error text or null.
    internal static string? ExtPar(ref string s)
    {
        if (s.Length == 0 || s[0] != '{')
            return null;
        var level = 0;
        var end = -1;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '{')
                level++;
            else if (s[i] == '}' && --level == 0)
            {
                end = i;
                break;
            }
        }
        if (end < 0)
            return "missing '}' in \"" + s + "\"";
        if (end != s.Length - 1)
            return "syntax error after '}' in \"" + s + "\"";
        s = s[1..end].Trim(' ', '\t', '\r', '\n');
        return null;
    }

    // MacroDefaultsCreate - milter_macro_defaults_create().
    internal static Dictionary<string, string>? MacroDefaultsCreate(string defaults)
    {
        Dictionary<string, string>? table = null;
        var pos = 0;
        string? nameval;
        while ((nameval = TokQ(defaults, ref pos)) != null)
        {
            string? err;
            if (nameval[0] == '{' && !BraceThenEquals(nameval) && (err = ExtPar(ref nameval)) != null)
                Msg.Fatal($"malformed default macro entry: {err} in \"{defaults}\"");
            if ((err = Postfix.Global.Config.NameValue.Split(nameval, out var name, out var value)) != null)
                Msg.Fatal($"malformed default macro entry: {err} in \"{defaults}\"");
            if (name[0] != '{')
                name = "{" + name + "}";
            table ??= new Dictionary<string, string>(StringComparer.Ordinal);
            if (table.ContainsKey(name))
                Msg.Warn($"ignoring multiple default macro entries for {name} in \"{defaults}\"");
            else
                table[name] = value;
        }
        return table;
    }

    private static bool BraceThenEquals(string s)
    {
        var level = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '{')
                level++;
            else if (s[i] == '}' && --level == 0)
                return i + 1 < s.Length && s[i + 1] == '=';
        }
        return false;
    }

    // New - milter_new(): instantiate the list, with per-milter overrides.
    internal static Milters New(string? names, int connTimeout, int cmdTimeout, int msgTimeout, string? protocol,
        string? defAction, MilterMacros? macros, Dictionary<string, string>? macroDefaults)
    {
        var milters = new Milters { Macros = macros, MacroDefaults = macroDefaults };
        if (string.IsNullOrEmpty(names))
            return milters;
        var pos = 0;
        string? name;
        while ((name = TokQ(names, ref pos)) != null)
        {
            var myConn = connTimeout;
            var myCmd = cmdTimeout;
            var myMsg = msgTimeout;
            var myProto = protocol;
            var myAction = defAction;
            if (name[0] == '{')
            {
                var op = name;
                var err = ExtPar(ref op);
                if (err != null)
                    Msg.Fatal($"milter service syntax error: {err}");
                var p = 0;
                while (p < op.Length && IsSep(op[p]))
                    p++;
                var start = p;
                while (p < op.Length && !IsSep(op[p]))
                    p++;
                if (p == start)
                    Msg.Fatal($"empty milter definition: \"{names}\"");
                name = op[start..p];
                string? nv;
                while ((nv = TokQ(op, ref p)) != null)
                {
                    if (nv[0] == '{' && (err = ExtPar(ref nv)) != null)
                        Msg.Fatal($"{err} in \"{nv}\"");
                    if ((err = Postfix.Global.Config.NameValue.Split(nv, out var key, out var value)) != null)
                        Msg.Fatal($"malformed option: {err}: \"...{nv}...\"");
                    switch (key)
                    {
                        case "connect_timeout":
                        case "command_timeout":
                        case "content_timeout":
                            if (!Postfix.Util.ConvTime.TryParse(value, 's', out var t) || t <= 0)
                                Msg.Fatal($"{key}: bad time value or unit: {value}");
                            if (key == "connect_timeout")
                                myConn = t;
                            else if (key == "command_timeout")
                                myCmd = t;
                            else
                                myMsg = t;
                            break;
                        case "protocol":
                            myProto = value;
                            break;
                        case "default_action":
                            myAction = value;
                            break;
                        default:
                            Msg.Fatal($"unknown option: \"{key} = {value}\"");
                            break;
                    }
                }
            }
            milters.list.Add(new Milter8(name, myConn, myCmd, myMsg, myProto, myAction ?? "tempfail", milters));
        }
        return milters;
    }

    // milter_macro_callback: the caller's macro values.
    public Func<string, string?>? MacroLookup { get; set; }

    // MacroLookupList - milter_macro_lookup(): name/value pairs.
    internal List<string> MacroLookupList(string? names)
    {
        var argv = new List<string>();
        if (names == null)
            return argv;
        foreach (var name in names.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var cname = name[0] != '{' ? "{" + name + "}" : name;
            var value = MacroLookup?.Invoke(cname);
            if (value == null && name[0] != '{' && name.Length == 1)
                value = MacroLookup?.Invoke(name);
            if (value != null)
            {
                argv.Add(name);
                argv.Add(value);
            }
            else if (MacroDefaults != null && MacroDefaults.TryGetValue(cname, out var def))
            {
                argv.Add(name);
                argv.Add(def);
            }
        }
        return argv;
    }

    private List<string> Eval(Milter8 m, Func<MilterMacros, string?> member, ref List<string>? global)
    {
        var own = m.Macros != null ? member(m.Macros) : null;
        if (!string.IsNullOrEmpty(own))
            return MacroLookupList(own);
        return global ??= MacroLookupList(Macros != null ? member(Macros) : null);
    }

    public string? ConnectEvent(string clientName, string clientAddr, string clientPort, int addrFamily)
    {
        string? resp = null;
        List<string>? global = null;
        foreach (var m in list)
        {
            if (resp != null)
                break;
            if (m.Socket == null)
                m.Connect();
            resp = m.ConnEvent(clientName, clientAddr, clientPort, addrFamily, Eval(m, x => x.Conn, ref global));
        }
        return resp;
    }

    public string? HeloEvent(string helo, bool esmtp)
    {
        string? resp = null;
        List<string>? global = null;
        foreach (var m in list)
        {
            if (resp != null)
                break;
            resp = m.HeloEvent(helo, Eval(m, x => x.Helo, ref global));
        }
        return resp;
    }

    // argv: the sender address then its ESMTP parameters.
    public string? MailEvent(IReadOnlyList<string> argv)
    {
        string? resp = null;
        List<string>? global = null;
        foreach (var m in list)
        {
            if (resp != null)
                break;
            resp = m.MailEvent(argv, Eval(m, x => x.Mail, ref global));
        }
        return resp;
    }

    // argv: the recipient address then its ESMTP parameters.
    public string? RcptEvent(IReadOnlyList<string> argv) => RcptEvent(argv, false);

    // wantRcptRej: a recipient that smtpd rejected, for the milters that
    // asked to see those (SMFIP_RCPT_REJ).
    public string? RcptEvent(IReadOnlyList<string> argv, bool wantRcptRej)
    {
        string? resp = null;
        List<string>? global = null;
        foreach (var m in list)
        {
            if (resp != null)
                break;
            if (!wantRcptRej || (m.Flags & Milter8.FlagWantRcptRej) != 0)
                resp = m.RcptEvent(argv, Eval(m, x => x.Rcpt, ref global));
        }
        return resp;
    }

    public string? DataEvent()
    {
        string? resp = null;
        List<string>? global = null;
        foreach (var m in list)
        {
            if (resp != null)
                break;
            resp = m.DataEvent(Eval(m, x => x.Data, ref global));
        }
        return resp;
    }

    public string? UnknownEvent(string command)
    {
        string? resp = null;
        List<string>? global = null;
        foreach (var m in list)
        {
            if (resp != null)
                break;
            resp = m.UnknownEvent(command, Eval(m, x => x.Unk, ref global));
        }
        return resp;
    }

    public string? OtherEvent()
    {
        string? resp = null;
        foreach (var m in list)
        {
            if (resp != null)
                break;
            resp = m.OtherEvent();
        }
        return resp;
    }

    // MessageEvent - milter_message(): the content of the queue file
    // (from dataOffset) through every milter, then the end-of-message
    // replies (edits go to Editor).
    public string? MessageEvent(byte[] queueFile, string path, long dataOffset, IReadOnlyList<string> autoHdrs)
    {
        string? resp = null;
        List<string>? eoh = null, eod = null;
        foreach (var m in list)
        {
            if (resp != null)
                break;
            var anyEoh = Eval(m, x => x.Eoh, ref eoh);
            var anyEod = Eval(m, x => x.Eod, ref eod);
            resp = m.Message(queueFile, path, dataOffset, anyEoh, anyEod, autoHdrs);
            // A later milter reads the file as the earlier one left it.
            if (resp == null && Editor is IMilterQueueFile qf)
                queueFile = qf.Snapshot();
        }
        return resp;
    }

    public void Abort()
    {
        foreach (var m in list)
            m.Abort();
    }

    public void DisconnectEvent()
    {
        foreach (var m in list)
            m.DisconnectEvent();
    }

    // Dummy - milter_dummy(): a list without milters, so that cleanup does
    // not apply its own non_smtpd_milters.
    public static bool SendDummy(Stream cleanupStream)
    {
        try
        {
            WriteCountRecord(cleanupStream, 0);
            cleanupStream.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private static void WriteCountRecord(Stream s, int count)
    {
        var text = Encoding.ASCII.GetBytes(count.ToString(CultureInfo.InvariantCulture));
        s.WriteByte((byte)'m');
        var len = text.Length;
        do
        {
            var b = len & 0x7f;
            len >>= 7;
            s.WriteByte((byte)(len != 0 ? b | 0x80 : b));
        }
        while (len != 0);
        s.Write(text);
    }

    // milter_send: hand the list (and each milter's open connection) to cleanup
    // over the cleanup stream, in the reference's attribute format; false on error.
    public bool Send(Stream cleanupStream)
    {
        return Send(new StreamChannel(cleanupStream, "cleanup socket", SocketFd(cleanupStream)));
    }

    public bool Send(IMilterChannel channel)
    {
        var count = 0;
        foreach (var m in list)
            if (m.Active)
                count++;
        var countSent = channel.SendRaw(CountRecord(count));
        if (count <= 0)
            return countSent;
        var status = countSent ? 0 : -1;
        if (status == 0)
        {
            var macros = Macros ?? MilterMacros.Empty();
            channel.Send(w => macros.Print(w), AttrFlags.More);
            var n = MacroDefaults?.Count ?? 0;
            channel.Send(w => w.Int(MailProto.AttrSize, n), AttrFlags.More);
            if (n > 0)
                channel.Send(w => w.Hash(MacroDefaults!), AttrFlags.More);
            foreach (var m in list)
            {
                if (m.Active && (status = SendOne(m, channel)) != 0)
                    break;
            }
        }
        var values = new AttrValue[1];
        if (status != 0
            || channel.Receive([AttrSpec.Int(MailProto.AttrStatus)], values, AttrFlags.Strict) != 1
            || values[0].Int != 0)
        {
            Msg.Warn($"cannot send milters to service {channel.Path}");
            return false;
        }
        return true;
    }

    private static byte[] CountRecord(int count)
    {
        var ms = new MemoryStream();
        WriteCountRecord(ms, count);
        return ms.ToArray();
    }

    // SendOne - milter8_send(), with the descriptor hand-over of a system
    // that can neither write before nor close right after sending it.
    private static int SendOne(Milter8 m, IMilterChannel channel)
    {
        var ok = channel.Send(w => w.Str(AttrName, m.Name).Int(AttrVers, m.Version).Int(AttrActs, m.RqMask)
            .Int(AttrEvts, m.EvMask).Int(AttrNpts, m.NpMask).Int(AttrStat, m.State).Int(AttrConn, m.ConnTimeout)
            .Int(AttrCmd, m.CmdTimeout).Int(AttrMsg, m.MsgTimeout).Str(AttrAct, m.DefAction)
            .Int(AttrMac, m.Macros != null ? 1 : 0), AttrFlags.More)
            && channel.Send(w =>
            {
                if (m.Macros != null)
                    m.Macros.Print(w);
            }, AttrFlags.None);
        var dummy = new AttrValue[1];
        if (!ok || channel.Receive([AttrSpec.Str(AttrDummy)], dummy, AttrFlags.Strict) != 1)
            return -1;
        if (m.Socket == null || channel.Fd < 0 || FdPass.Send(channel.Fd, (int)m.Socket.Handle) < 0)
            return -1;
        if (channel.Receive([AttrSpec.Str(AttrDummy)], dummy, AttrFlags.Strict) != 1)
            return -1;
        return 0;
    }

    // milter_receive: cleanup's side of Send. hostStatus is the milter
    // count from the cleanup stream's milter count record.
    public static Milters? Receive(System.IO.Stream stream, int hostStatus)
    {
        return Receive(new StreamChannel(stream, "cleanup socket", SocketFd(stream)), hostStatus);
    }

    // SocketFd - the descriptor of the socket under a (buffered) stream.
    private static int SocketFd(Stream s)
    {
        while (s is BufferedStream bs)
            s = bs.UnderlyingStream;
        return s is NetworkStream ns ? (int)ns.Socket.Handle : -1;
    }

    public static Milters? Receive(IMilterChannel channel, int count)
    {
        var milters = New(null, 0, 0, 0, null, null, null, null);
        if (count <= 0)
            return milters;
        var mv = new AttrValue[8];
        if (channel.Receive(MilterMacros.ScanSpec, mv, AttrFlags.Strict | AttrFlags.More) != 8)
            return null;
        milters.Macros = MilterMacros.FromValues(mv);
        var sz = new AttrValue[1];
        if (channel.Receive([AttrSpec.Int(MailProto.AttrSize)], sz, AttrFlags.Strict | AttrFlags.More) != 1)
            return null;
        if (sz[0].Int > 0)
        {
            var table = new Dictionary<string, string>(StringComparer.Ordinal);
            if (channel.Receive([AttrSpec.Hash()], sz, AttrFlags.Strict | AttrFlags.More, table) != sz[0].Int)
                return null;
            milters.MacroDefaults = table;
        }
        for (; count > 0; count--)
        {
            var m = ReceiveOne(channel, milters);
            if (m == null)
            {
                Msg.Warn($"cannot receive milters via service {channel.Path} socket");
                milters.Dispose();
                return null;
            }
            milters.list.Add(m);
        }
        channel.Send(w => w.Int(MailProto.AttrStatus, 0), AttrFlags.None);
        return milters;
    }

    private static readonly AttrSpec[] MilterSpec =
    [
        AttrSpec.Str(AttrName), AttrSpec.Int(AttrVers), AttrSpec.Int(AttrActs), AttrSpec.Int(AttrEvts),
        AttrSpec.Int(AttrNpts), AttrSpec.Int(AttrStat), AttrSpec.Int(AttrConn), AttrSpec.Int(AttrCmd),
        AttrSpec.Int(AttrMsg), AttrSpec.Str(AttrAct), AttrSpec.Int(AttrMac),
    ];

    private static Milter8? ReceiveOne(IMilterChannel channel, Milters parent)
    {
        var v = new AttrValue[11];
        if (channel.Receive(MilterSpec, v, AttrFlags.Strict | AttrFlags.More) < 10)
            return null;
        MilterMacros? macros = null;
        if (v[10].Int != 0)
        {
            var mv = new AttrValue[8];
            if (channel.Receive(MilterMacros.ScanSpec, mv, AttrFlags.Strict) < 8)
                return null;
            macros = MilterMacros.FromValues(mv);
        }
        else if (channel.Receive([], [], AttrFlags.Strict) < 0)
            return null;
        if (!channel.Send(w => w.Str(AttrDummy, ""), AttrFlags.None))
            return null;
        var fd = channel.Fd >= 0 ? FdPass.Receive(channel.Fd) : -1;
        if (fd < 0)
            return null;
        // The descriptor arrives with the sender's file status flags; our
        // I/O on it is blocking with timeouts.
        Sys.NonBlocking(fd, false);
        channel.Send(w => w.Str(AttrDummy, ""), AttrFlags.None);
        var m = new Milter8(v[0].Str, v[6].Int, v[7].Int, v[8].Int, null, v[9].Str, parent)
        {
            Macros = macros,
            Version = v[1].Int,
            RqMask = v[2].Int,
            EvMask = v[3].Int,
            NpMask = v[4].Int,
            State = v[5].Int,
        };
        m.Adopt(new Socket(new SafeSocketHandle(fd, true)));
        return m;
    }

    public void Dispose()
    {
        foreach (var m in list)
            m.Free();
    }

    // StreamChannel - IMilterChannel over a plain stream.
    private sealed class StreamChannel(Stream stream, string path, int fd) : IMilterChannel
    {
        private readonly AttrStream attrs = new(stream, path);

        public string Path => path;

        public int Fd => fd;

        public int Receive(ReadOnlySpan<AttrSpec> spec, Span<AttrValue> values, AttrFlags flags, IDictionary<string, string>? hash = null) =>
            attrs.Receive(spec, values, flags, hash);

        public bool Send(Action<AttrWriter> print, AttrFlags flags) => attrs.Send(print, flags);

        public bool SendRaw(byte[] data)
        {
            try
            {
                stream.Write(data);
                stream.Flush();
                return true;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                return false;
            }
        }
    }
}

// IMilterQueueFile - an editor that can show the queue file as edited so
// far (for the next milter in the list).
public interface IMilterQueueFile
{
    byte[] Snapshot();
}
