// NAME
//	LocalConfig - the main.cf parameters of local(8)
// POSTFIX
//	src/local/local.c (main, local_mask_init, pre_init)
// DESCRIPTION
//	Reads the parameters the agent uses once at start-up, with the
//	reference's checks: the allow_mail_to_commands/files,
//	propagate_unmatched_extensions and prepend_delivered_header masks,
//	the mailbox lock methods, and the mailbox/message size limits.
//	forward_path, mailbox_command, luser_relay and
//	command_execution_directory are raw: expanded per recipient.
using System;
using System.Globalization;
using Postfix.Global.Config;
using Postfix.Global.Mailbox;
using Postfix.Util;

namespace Postfix.Daemons.Local;

internal sealed class LocalConfig
{
    public string AliasMaps = "";
    public string HomeMailbox = "";
    public string MailSpoolDirectory = "/var/mail";
    public string MailboxTransport = "";
    public string MailboxTransportMaps = "";
    public string FallbackTransport = "";
    public string FallbackTransportMaps = "";
    public string MailboxCommand = "";
    public string MailboxCommandMaps = "";
    public string ForwardPath = "";
    public string LuserRelay = "";
    public string ExecDirectory = "";
    public string ExecFilter = "";
    public string CommandFilter = "";
    public string ForwardFilter = "";
    public string RecipientDelimiter = "";
    public string LocalCommandShell = "";
    public string ExportEnvironment = "TZ MAIL_CONFIG LANG";
    public string MyHostname = "localhost";
    public string MailName = "Postfix";
    public string CleanupService = "cleanup";
    public int CommandTimeLimit = 1000;
    public int DupFilterLimit = 1000;
    public long MailboxLimit;
    public int FileDeliverMask = ExpandType.Alias | ExpandType.Forward;
    public int CommandDeliverMask = ExpandType.Alias | ExpandType.Forward;
    public int ExtPropMask = ExtProp.Canonical | ExtProp.Virtual;
    public int DeliverHdrMask = DeliverHeader.Command | DeliverHeader.File | DeliverHeader.Forward;
    public int MboxLockMask = MboxLock.Fcntl | MboxLock.Dot;
    public bool ExpandOwnerAlias;
    public bool StatHomeDir = true;
    public bool FrozenDelivered = true;
    public bool ResetOwnerAttr;
    public bool StrictMailboxOwnership = true;
    public bool OwnerRequestSpecial = true;
    public bool Biff;
    public uint DefaultUid;
    public uint DefaultGid;
    public uint OwnerUid;
    public uint OwnerGid;

    public static LocalConfig FromConf(MailConf conf)
    {
        var c = new LocalConfig
        {
            AliasMaps = conf.Eval("alias_maps"),
            HomeMailbox = conf.Eval("home_mailbox"),
            MailSpoolDirectory = conf.Eval("mail_spool_directory"),
            MailboxTransport = conf.Eval("mailbox_transport"),
            MailboxTransportMaps = conf.Eval("mailbox_transport_maps"),
            FallbackTransport = conf.Eval("fallback_transport"),
            FallbackTransportMaps = conf.Eval("fallback_transport_maps"),
            MailboxCommand = conf.Lookup("mailbox_command") ?? "",
            MailboxCommandMaps = conf.Eval("mailbox_command_maps"),
            ForwardPath = conf.Lookup("forward_path") ?? "",
            LuserRelay = conf.Lookup("luser_relay") ?? "",
            ExecDirectory = conf.Lookup("command_execution_directory") ?? "",
            ExecFilter = conf.Eval("execution_directory_expansion_filter"),
            CommandFilter = conf.Eval("command_expansion_filter"),
            ForwardFilter = conf.Eval("forward_expansion_filter"),
            RecipientDelimiter = conf.Eval("recipient_delimiter"),
            LocalCommandShell = conf.Eval("local_command_shell"),
            ExportEnvironment = conf.Eval("export_environment"),
            MyHostname = conf.Eval("myhostname"),
            MailName = conf.Eval("mail_name"),
            CleanupService = conf.Eval("cleanup_service_name"),
            CommandTimeLimit = Time(conf, "command_time_limit"),
            DupFilterLimit = Int(conf, "duplicate_filter_limit"),
            MailboxLimit = Long(conf, "mailbox_size_limit"),
            ExpandOwnerAlias = conf.Bool("expand_owner_alias"),
            StatHomeDir = conf.Bool("stat_home_dir"),
            FrozenDelivered = conf.Bool("frozen_delivered_to"),
            ResetOwnerAttr = conf.Bool("reset_owner_alias"),
            StrictMailboxOwnership = conf.Bool("strict_mailbox_ownership"),
            OwnerRequestSpecial = conf.Bool("owner_request_special"),
            Biff = conf.Bool("biff"),
        };
        c.FileDeliverMask = NameMask("allow_mail_to_files", conf.Eval("allow_mail_to_files"),
            [("alias", ExpandType.Alias), ("forward", ExpandType.Forward), ("include", ExpandType.Include)]);
        c.CommandDeliverMask = NameMask("allow_mail_to_commands", conf.Eval("allow_mail_to_commands"),
            [("alias", ExpandType.Alias), ("forward", ExpandType.Forward), ("include", ExpandType.Include)]);
        c.ExtPropMask = NameMask("propagate_unmatched_extensions", conf.Eval("propagate_unmatched_extensions"),
            [("canonical", ExtProp.Canonical), ("virtual", ExtProp.Virtual), ("alias", ExtProp.Alias),
             ("forward", ExtProp.Forward), ("include", ExtProp.Include), ("generic", ExtProp.Generic)]);
        c.DeliverHdrMask = NameMask("prepend_delivered_header", conf.Eval("prepend_delivered_header"),
            [("command", DeliverHeader.Command), ("file", DeliverHeader.File), ("forward", DeliverHeader.Forward)]);
        c.MboxLockMask = MboxLock.Mask("mailbox_delivery_lock", conf.Eval("mailbox_delivery_lock"));
        if (conf.Bool("sun_mailtool_compatibility"))
        {
            Msg.Warn("sun_mailtool_compatibility: deprecated parameter, use \"mailbox_delivery_lock = dotlock\" instead");
            c.MboxLockMask &= MboxLock.Dot;
        }
        if (c.MboxLockMask == 0)
            Msg.Fatal("parameter mailbox_delivery_lock specifies no applicable mailbox locking method");
        (c.DefaultUid, c.DefaultGid) = UserIds(conf.Eval("default_privs"), "default_privs");
        (c.OwnerUid, c.OwnerGid) = UserIds(conf.Eval("mail_owner"), "mail_owner");
        MboxLock.Attempts = Int(conf, "deliver_lock_attempts");
        MboxLock.DelaySeconds = Time(conf, "deliver_lock_delay");
        MboxLock.StaleSeconds = Time(conf, "stale_lock_time");
        MailCopy.EnableOriginalRecipient = conf.Bool("enable_original_recipient");
        return c;
    }

    private static (uint, uint) UserIds(string name, string param)
    {
        var pwd = Sys.GetPwNam(name);
        if (pwd == null)
        {
            Msg.Fatal($"file {"/etc/postfix/main.cf"}: parameter {param}: unknown user name value: {name}");
            return (0, 0);
        }
        return (pwd.Uid, pwd.Gid);
    }

    // NameMask - name_mask(): fatal on an unknown name.
    public static int NameMask(string param, string value, (string Name, int Bit)[] table)
    {
        var mask = 0;
        foreach (var word in value.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var found = false;
            foreach (var (name, bit) in table)
            {
                if (string.Equals(name, word, StringComparison.OrdinalIgnoreCase))
                {
                    mask |= bit;
                    found = true;
                }
            }
            if (!found)
                Msg.Fatal($"unknown {param} value \"{word}\" in \"{value}\"");
        }
        return mask;
    }

    private static int Int(MailConf conf, string name)
    {
        var v = conf.Eval(name);
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            Msg.Fatal($"bad numerical configuration: {name} = {v}");
        return n;
    }

    private static long Long(MailConf conf, string name)
    {
        var v = conf.Eval(name);
        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            Msg.Fatal($"bad numerical configuration: {name} = {v}");
        return n;
    }

    // Time - a time value with an optional s/m/h/d/w unit (seconds).
    private static int Time(MailConf conf, string name)
    {
        var v = conf.Eval(name).Trim();
        var unit = 1;
        if (v.Length > 0 && char.IsLetter(v[^1]))
        {
            unit = char.ToLowerInvariant(v[^1]) switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, 'w' => 604800, _ => 0 };
            v = v[..^1];
        }
        if (unit == 0 || !int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
        {
            Msg.Fatal($"bad numerical configuration: {name} = {conf.Eval(name)}");
            return 0;
        }
        return n * unit;
    }
}
