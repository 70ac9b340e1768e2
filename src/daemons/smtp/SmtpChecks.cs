// NAME
//	SmtpChecks - smtp_header_checks, smtp_mime_header_checks,
//	smtp_nested_header_checks and smtp_body_checks
// POSTFIX
//	src/global/header_body_checks.c (hbc_action), src/smtp/smtp_proto.c
//	(smtp_hbc_logger, smtp_header_rewrite, smtp_body_rewrite)
// DESCRIPTION
//	The delivery agent's limited content checks: only actions that
//	change what goes out, never where or when. WARN and INFO log and
//	pass the line, REPLACE substitutes it (a header needs "name:
//	value"), STRIP and IGNORE drop it (STRIP is logged), DUNNO and OK
//	pass it; PREPEND sends its text as a line of its own before it
//	(a header needs "name: value"); anything else is logged as an
//	unsupported command and ignored. A header is checked against the
//	table of its class; any MIME header (Content-*, MIME-Version) counts
//	as a MIME header wherever it appears. A log line is "QUEUEID:
//	ACTION: header|body CONTENT(60 bytes): TEXT".
using System;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Dict;
using Postfix.Global.Mime;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal sealed class SmtpChecks
{
    // Ignore - the line is dropped; Error - a table lookup failed.
    public static readonly string Ignore = new('\0', 1);
    public static readonly string Error = new('\0', 2);

    private readonly (string Name, Maps? Maps)[] headerMaps = new (string, Maps?)[3];

    public (string Name, Maps Maps)? Body { get; private set; }

    public bool AnyHeader => headerMaps[0].Maps != null || headerMaps[1].Maps != null || headerMaps[2].Maps != null;

    public bool AnyBody => Body != null;

    // Create - the tables of one personality (smtp_* or lmtp_*); null when none is set.
    public static SmtpChecks? Create(Func<string, string> eval, string prefix)
    {
        var checks = new SmtpChecks();
        var names = new[] { "header_checks", "mime_header_checks", "nested_header_checks" };
        var any = false;
        for (var i = 0; i < 3; i++)
        {
            var title = $"{prefix}_{names[i]}";
            var value = eval(title);
            checks.headerMaps[i] = (title, value.Length > 0 ? Maps.Create(title, value, DictFlags.Lock) : null);
            any |= value.Length > 0;
        }
        var bodyTitle = $"{prefix}_body_checks";
        var bodyValue = eval(bodyTitle);
        if (bodyValue.Length > 0)
        {
            checks.Body = (bodyTitle, Maps.Create(bodyTitle, bodyValue, DictFlags.Lock));
            any = true;
        }
        return any ? checks : null;
    }

    // Header - hbc_header_checks(): the (raw) header to send, Ignore or Error.
    public string Header(string queueId, int headerClass, bool isMime, string header, Action<string> prepend)
    {
        if (isMime)
            headerClass = MimeState.HdrMultipart;
        var (title, maps) = headerMaps[headerClass - 1];
        if (maps == null)
            return header;
        var action = maps.Find(Raw.Text(header));
        if (action != null)
            return Act(queueId, title, "header", action, header, prepend);
        return maps.Error != DictError.None ? Error : header;
    }

    // BodyLine - hbc_body_checks(): the (raw) line to send, Ignore or Error.
    public string BodyLine(string queueId, string line, Action<string> prepend)
    {
        var (title, maps) = Body!.Value;
        var action = maps.Find(Raw.Text(line));
        if (action != null)
            return Act(queueId, title, "body", action, line, prepend);
        return maps.Error != DictError.None ? Error : line;
    }

    private static void Log(string queueId, string action, string where, string content, string text)
    {
        var shown = Raw.Text(content.Length > 60 ? content[..60] : content);
        Msg.Info(text.Length > 0 ? $"{queueId}: {action}: {where} {shown}: {text}" : $"{queueId}: {action}: {where} {shown}");
    }

    // Act - hbc_action() with only the logging call-back.
    private static string Act(string queueId, string mapClass, string where, string cmd, string line, Action<string> prepend)
    {
        var cmdLen = 0;
        while (cmdLen < cmd.Length && cmd[cmdLen] is not (' ' or '\t'))
            cmdLen++;
        var name = cmd[..cmdLen];
        var args = cmd[cmdLen..].TrimStart(' ', '\t', '\n', '\r', '\f', '\v');
        bool Is(string s) => string.Equals(name, s, StringComparison.OrdinalIgnoreCase);
        if (Is("WARN"))
        {
            Log(queueId, "warning", where, line, args);
            return line;
        }
        if (Is("INFO"))
        {
            Log(queueId, "info", where, line, args);
            return line;
        }
        if (Is("REPLACE"))
        {
            if (args.Length == 0)
            {
                Msg.Warn($"REPLACE action without text in {mapClass} map");
                return line;
            }
            if (where == "header" && !HeaderOpts.IsHeader(Raw.FromText(args)))
            {
                Msg.Warn($"bad REPLACE header text \"{args}\" in {mapClass} map -- need \"headername: headervalue\"");
                return line;
            }
            Log(queueId, "replace", where, line, args);
            return Raw.FromText(args);
        }
        if (Is("PREPEND"))
        {
            if (args.Length == 0)
                Msg.Warn($"PREPEND action without text in {mapClass} map");
            else if (where == "header" && !HeaderOpts.IsHeader(Raw.FromText(args)))
                Msg.Warn($"bad PREPEND header text \"{args}\" in {mapClass} map -- need \"headername: headervalue\"");
            else
            {
                Log(queueId, "prepend", where, line, args);
                prepend(Raw.FromText(args));
            }
            return line;
        }
        if (Is("STRIP"))
        {
            Log(queueId, "strip", where, line, args);
            return Ignore;
        }
        if (Is("IGNORE"))
            return Ignore;
        if (Is("DUNNO") || Is("OK"))
            return line;
        Msg.Warn($"unsupported command in {mapClass} map: {cmd}");
        return line;
    }
}
