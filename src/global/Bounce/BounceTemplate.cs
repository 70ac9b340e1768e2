// NAME
//	BounceTemplate - one bounce message template
// POSTFIX
//	src/bounce/bounce_template.c
// DESCRIPTION
//	A template starts as a built-in prototype. Load() replaces it with
//	text from a template file; that text is parsed only when first used
//	(Postfix defers the work because most bounce requests never need a
//	template), and a template with bad headers or without message text
//	falls back to the built-in one with a warning.
//
//	Template text is held as octet strings: one char per byte, the
//	ISO-8859-1 mapping. Postfix copies template bytes verbatim whatever
//	the declared charset, and so do we; Octets() and Text() convert.
//
//	Expand() replaces $name in the message text, with the special
//	$delay_warning_time_<unit> and $maximal_queue_lifetime_<unit>
//	names; Headers() writes From/Subject/To; Dump() writes the template
//	in the form that Load() reads back.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Bounce;

public sealed class BounceTemplate
{
    public const string ClassFailure = "failure";
    public const string ClassDelay = "delay";
    public const string ClassSuccess = "success";
    public const string ClassVerify = "verify";

    public const string Encoding7Bit = "7bit";
    public const string Encoding8Bit = "8bit";

    public const string BuiltinOrigin = "[built-in]";

    // Time unit suffixes of the two time parameters: name, divisor.
    private static readonly (string Suffix, int Divisor)[] TimeDivisors =
    {
        ("seconds", 1),
        ("minutes", 60),
        ("hours", 60 * 60),
        ("days", 24 * 60 * 60),
        ("weeks", 7 * 24 * 60 * 60),
    };

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private readonly BounceTemplate? prototype;
    private string charset;
    private string encoding;
    private string obsFrom;
    private string stdFrom;
    private string subject;
    private string? postmasterSubject;
    private IReadOnlyList<string> messageText;
    private string? buffer;
    private bool newBuffer;

    // BounceTemplate - a built-in prototype (all text US-ASCII).
    internal BounceTemplate(string templateClass, string subject, string? postmasterSubject, string[] messageText)
    {
        Class = templateClass;
        Origin = BuiltinOrigin;
        charset = "us-ascii";
        encoding = Encoding7Bit;
        obsFrom = "MAILER-DAEMON (Mail Delivery System)";
        stdFrom = "Mail Delivery System <MAILER-DAEMON>";
        this.subject = subject;
        this.postmasterSubject = postmasterSubject;
        this.messageText = messageText;
    }

    // BounceTemplate - bounce_template_create(): a modifiable copy of a prototype.
    internal BounceTemplate(BounceTemplate prototype)
    {
        this.prototype = prototype;
        Class = prototype.Class;
        Origin = prototype.Origin;
        charset = prototype.charset;
        encoding = prototype.encoding;
        obsFrom = prototype.obsFrom;
        stdFrom = prototype.stdFrom;
        subject = prototype.subject;
        postmasterSubject = prototype.postmasterSubject;
        messageText = prototype.messageText;
    }

    // Class - failure, delay, success or verify (for diagnostics).
    public string Class { get; }

    // Origin - "[built-in]" or the template file pathname.
    public string Origin { get; private set; }

    // Charset - the MIME character set of the message text.
    public string Charset
    {
        get
        {
            ParseIfNew();
            return charset;
        }
    }

    // Encoding - 7bit or 8bit, derived from the message text.
    public string Encoding
    {
        get
        {
            ParseIfNew();
            return encoding;
        }
    }

    // IsFailure, IsDelay, IsSuccess - IS_MUMBLE_TEMPLATE().
    public bool IsFailure => Class == ClassFailure;

    public bool IsDelay => Class == ClassDelay;

    public bool IsSuccess => Class == ClassSuccess;

    // Load - replace the template with text from origin (null, null: back to the default).
    public void Load(string? origin, string? text)
    {
        if (buffer != null)
            Reset();
        if (text != null && origin != null)
        {
            newBuffer = true;
            buffer = text;
            Origin = origin;
        }
    }

    // Headers - From:, Subject: and To: through out, one header per call.
    public void Headers(Action<string> output, string recipient, bool postmasterCopy, bool standardFrom)
    {
        ParseIfNew();
        output("From: " + (standardFrom ? stdFrom : obsFrom));
        output("Subject: " + (postmasterSubject != null && postmasterCopy ? postmasterSubject : subject));
        output("To: " + recipient);
    }

    // Expand - the message text with $name expanded, one line per call.
    public void Expand(Action<string> output, BounceTemplateConfig config)
    {
        ParseIfNew();
        var buf = new StringBuilder();
        foreach (var line in messageText)
        {
            // A UTF-8 line is expanded as text, so that the warnings of the
            // macro expander show its characters; other lines as octets.
            var utf8 = Utf8Text(line);
            var stat = utf8 == null
                ? MacExpand.Expand(buf, line, MacExpand.FlagNone, null, (key, _) => Lookup(key, config))
                : MacExpand.Expand(buf, utf8, MacExpand.FlagNone, null, (key, _) => Lookup(key, config) is { } v ? Utf8Text(v) ?? v : null);
            if ((stat & MacExpand.ParseError) != 0)
                Msg.Fatal($"{Text(Origin)}: bad $name syntax in {Class} template: {Text(line)}");
            if ((stat & MacExpand.ParseUndef) != 0)
                Msg.Fatal($"{Text(Origin)}: undefined $name in {Class} template: {Text(line)}");
            output(utf8 == null ? buf.ToString() : Octets(buf.ToString()));
        }
    }

    // Dump - the template as a template file would hold it (without the markers).
    public void Dump(TextWriter fp, bool standardFrom)
    {
        ParseIfNew();
        fp.Write("Charset: " + charset + "\n");
        fp.Write("From: " + (standardFrom ? stdFrom : obsFrom) + "\n");
        fp.Write("Subject: " + subject + "\n");
        if (postmasterSubject != null)
            fp.Write("Postmaster-Subject: " + postmasterSubject + "\n");
        fp.Write("\n");
        foreach (var line in messageText)
            fp.Write(line + "\n");
    }

    // Octets - UTF-16 text to an octet string (UTF-8 bytes, one char each).
    public static string Octets(string text)
    {
        foreach (var c in text)
        {
            if (c >= 0x80)
                return System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes(text));
        }
        return text;
    }

    // Text - an octet string as diagnostics show it: Postfix's msg_output()
    // turns each unprintable byte into '?' (UTF-8 is kept when enabled), so
    // that is done here on the bytes, before they become text.
    public static string Text(string octets)
    {
        foreach (var c in octets)
        {
            if (c >= 0x80)
            {
                var bytes = System.Text.Encoding.Latin1.GetBytes(Printable(octets, Msg.Utf8Enable, '?'));
                return ByteText.Decode(bytes);
            }
        }
        return octets;
    }

    // Utf8Text - the text of a non-ASCII octet string that is valid UTF-8, else null.
    private static string? Utf8Text(string octets)
    {
        if (AllAscii(octets))
            return null;
        try
        {
            return StrictUtf8.GetString(System.Text.Encoding.Latin1.GetBytes(octets));
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    // Reset - back to the prototype (bounce_template_reset).
    private void Reset()
    {
        var p = prototype ?? this; // a prototype itself is never loaded
        Origin = p.Origin;
        charset = p.charset;
        encoding = p.encoding;
        obsFrom = p.obsFrom;
        stdFrom = p.stdFrom;
        subject = p.subject;
        postmasterSubject = p.postmasterSubject;
        messageText = p.messageText;
        buffer = null;
        newBuffer = false;
    }

    private void ParseIfNew()
    {
        if (newBuffer)
            ParseBuffer();
    }

    // ParseBuffer - pseudo-headers, blank lines, then the message text.
    private void ParseBuffer()
    {
        newBuffer = false;
        var lines = buffer!.Split('\n'); // ! newBuffer implies a buffer
        var next = 0;
        string? cp = null;

        // Pseudo-header labels and values. Non-ASCII is refused here; a
        // charset covers the message text only.
        while (next < lines.Length)
        {
            cp = lines[next++];
            var hlen = IsHeader(cp);
            if (hlen <= 0)
                break;
            var label = cp[..hlen];
            var v = hlen;
            while (v < cp.Length && (cp[v] == ':' || IsSpace(cp[v])))
                v++;
            var hval = cp[v..];
            if (hval.Length == 0)
            {
                Msg.Warn($"{Text(Origin)}: empty \"{label}\" header value in {Class} template -- ignoring this template");
                Reset();
                return;
            }
            if (!AllAscii(hval))
            {
                Msg.Warn($"{Text(Origin)}: non-ASCII \"{label}\" header value in {Class} template -- ignoring this template");
                Reset();
                return;
            }
            if (string.Equals(label, "charset", StringComparison.OrdinalIgnoreCase))
            {
                charset = hval;
            }
            else if (string.Equals(label, "from", StringComparison.OrdinalIgnoreCase))
            {
                stdFrom = obsFrom = hval;
            }
            else if (string.Equals(label, "subject", StringComparison.OrdinalIgnoreCase))
            {
                subject = hval;
            }
            else if (string.Equals(label, "postmaster-subject", StringComparison.OrdinalIgnoreCase))
            {
                if (postmasterSubject == null)
                {
                    Msg.Warn($"{Text(Origin)}: inapplicable \"{label}\" header label in {Class} template -- ignoring this template");
                    Reset();
                    return;
                }
                postmasterSubject = hval;
            }
            else
            {
                Msg.Warn($"{Text(Origin)}: unknown \"{label}\" header label in {Class} template -- ignoring this template");
                Reset();
                return;
            }
            cp = null;
        }

        // Blank lines between the headers and the message text.
        while (cp != null && AllSpace(cp))
            cp = next < lines.Length ? lines[next++] : null;
        if (cp == null)
        {
            Msg.Warn($"{Text(Origin)}: missing message text in {Class} template -- ignoring this template");
            Reset();
            return;
        }

        // 8-bit text needs a charset other than US-ASCII.
        var first = next - 1;
        var eightBit = false;
        for (var i = first; i < lines.Length && !eightBit; i++)
            eightBit = !AllAscii(lines[i]);
        if (eightBit)
        {
            if (string.Equals(charset, "us-ascii", StringComparison.OrdinalIgnoreCase))
            {
                Msg.Warn($"{Text(Origin)}: 8-bit message text in {Class} template");
                Msg.Warn("please specify a charset value other than us-ascii");
                Msg.Warn("-- ignoring this template for now");
                Reset();
                return;
            }
            encoding = Encoding8Bit;
        }
        messageText = lines[first..];
    }

    // Lookup - $name value: scaled time parameters, UTF-8 host names, main.cf.
    private string? Lookup(string key, BounceTemplateConfig config)
    {
        var value = LookupRaw(key, config);
        return value == null ? null : Printable(value, config.SmtpUtf8Enable);
    }

    private string? LookupRaw(string key, BounceTemplateConfig config)
    {
        foreach (var (name, seconds) in new[] { ("delay_warning_time", config.DelayWarnTime), ("maximal_queue_lifetime", config.MaxQueueTime) })
        {
            if (key.Length <= name.Length || !key.StartsWith(name, StringComparison.Ordinal) || key[name.Length] != '_')
                continue;
            var suffix = key[(name.Length + 1)..];
            foreach (var (unit, divisor) in TimeDivisors)
            {
                if (suffix != unit)
                    continue;
                var result = seconds / divisor;
                if (result > 999 && divisor < 86400)
                {
                    Msg.Warn($"{Text(Origin)}: excessive result \"{result}\" in {Class} template conversion of parameter \"{key}\"");
                    Msg.Warn($"please increase time unit \"{unit}\" of \"{key}\" in {Class} template");
                    Msg.Warn("for instructions see the bounce(5) manual");
                }
                else if (result == 0 && seconds != 0 && divisor > 1)
                {
                    Msg.Warn($"{Text(Origin)}: zero result in {Class} template conversion of parameter \"{key}\"");
                    Msg.Warn($"please reduce time unit \"{unit}\" of \"{key}\" in {Class} template");
                    Msg.Warn("for instructions see the bounce(5) manual");
                }
                return result.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            Msg.Fatal($"{Text(Origin)}: unrecognized suffix \"{suffix}\" in parameter \"{key}\"");
        }

        // Host names are shown in UTF-8 form when SMTPUTF8 is on.
        if (config.SmtpUtf8Enable && (key == "myhostname" || key == "mydomain"))
        {
            var asc = key == "myhostname" ? config.MyHostname : config.MyDomain;
            if (!AllAscii(asc))
            {
                Msg.Warn($"{Text(Origin)}: conversion \"{key}\" failed: non-ASCII input value: \"{Text(asc)}\"");
                return asc;
            }
            var utf8 = MidnaDomain.ToUtf8(asc);
            if (utf8 == null)
            {
                Msg.Warn($"{Text(Origin)}: conversion \"{key}\" failed: input value: \"{asc}\"");
                return asc;
            }
            return Octets(utf8);
        }
        return config.Lookup(key);
    }

    // Printable - printable(): non-printable bytes become '_' (UTF-8 kept when enabled).
    internal static string Printable(string s, bool utf8, char replacement = '_')
    {
        StringBuilder? sb = null;
        for (var i = 0; i < s.Length; i++)
        {
            int ch = s[i];
            if (ch >= 0x20 && ch < 0x7f)
                continue;
            if (utf8 && ch >= 194 && ch <= 254 && i + 1 < s.Length && s[i + 1] >= 128 && s[i + 1] < 192)
            {
                while (i + 1 < s.Length && s[i + 1] >= 128 && s[i + 1] < 192)
                    i++;
                continue;
            }
            sb ??= new StringBuilder(s);
            sb[i] = replacement;
        }
        return sb?.ToString() ?? s;
    }

    // IsHeader - is_header(): length of "label" in "label:", else 0.
    internal static int IsHeader(string s)
    {
        const int init = 0, inChar = 1, inCharSpace = 2;
        var state = init;
        var len = 0;
        foreach (var c in s)
        {
            switch (c)
            {
                case ' ':
                case '\t':
                    if (state == inChar)
                        state = inCharSpace;
                    if (state == inCharSpace)
                        continue;
                    return 0;
                case ':':
                    return state is inChar or inCharSpace ? len : 0;
                default:
                    if (c == 0 || c >= 0x80 || c < 0x20 || c == 0x7f)
                        return 0;
                    if (state == init)
                        state = inChar;
                    if (state == inChar)
                    {
                        len++;
                        continue;
                    }
                    return 0;
            }
        }
        return 0;
    }

    internal static bool AllAscii(string s)
    {
        foreach (var c in s)
        {
            if (c >= 0x80)
                return false;
        }
        return true;
    }

    private static bool AllSpace(string s)
    {
        foreach (var c in s)
        {
            if (!IsSpace(c))
                return false;
        }
        return true;
    }

    internal static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';
}
