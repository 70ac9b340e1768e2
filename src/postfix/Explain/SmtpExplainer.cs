// NAME
//	SmtpExplainer - "postfix explain smtp": the restriction lists, offline
// DESCRIPTION
//	Meant to run smtpd's own restriction engine (Postfix.Daemons.
//	SmtpdCheck.SmtpdChecker with an ICheckTracer) on a simulated
//	session, with the master.cf service's -o overrides applied. The
//	engine is still being written; until it is, this subcommand says
//	so and exits with status 1 instead of guessing.
using System.Collections.Generic;
using Postfix.Commands.Control.Hooks;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Control.Explain;

internal static class SmtpExplainer
{
    public static int Run(MailConf conf, List<MasterService> services, string? service, string? client, string? helo,
        string? from, List<string> to, string? sasl, bool tls, bool noExternal, string format)
    {
        if (client == null)
            Msg.Fatal($"usage: {Msg.Tag} explain smtp [-c config_dir] [--service NAME] --client ADDR[,HOSTNAME] [--helo NAME] [--from ADDR] [--to ADDR ...] [--sasl USER] [--tls] [--no-external] [--format text|json]");
        Msg.Error("explain smtp: not available yet: the smtpd restriction engine (smtpd-check) is not finished in this build");
        return 1;
    }
}
