// NAME
//	Postconf (types) - command modes, parameter nodes, master.cf entries
// POSTFIX
//	src/postconf/postconf.h
// DESCRIPTION
//	State shared by the postconf modules, as in postconf.h: the command
//	mode bits, the global table of valid parameter names, and the parsed
//	master.cf entries.
using System;
using System.Collections.Generic;
using Postfix.Global.Params;

namespace Postfix.Commands.Postconf;

// Mode - what postconf has been asked to do (PCF_* mode bits).
[Flags]
internal enum Mode
{
    None = 0,
    ShowNonDef = 1 << 0,     // -n
    ShowDefs = 1 << 1,       // -d
    HideName = 1 << 2,       // -h
    ShowMaps = 1 << 3,       // -m
    EditConf = 1 << 4,       // -e
    ShowLocks = 1 << 5,      // -l
    ShowEval = 1 << 6,       // -x
    ShowSaslServ = 1 << 7,   // -a
    ShowSaslClnt = 1 << 8,   // -A
    CommentOut = 1 << 9,     // -#
    MasterEntry = 1 << 10,   // -M
    FoldLine = 1 << 11,      // -f
    EditExcl = 1 << 12,      // -X
    MasterFld = 1 << 13,     // -F
    MainParam = 1 << 14,     // -p
    ExpDsnTempl = 1 << 15,   // -b
    ParamClass = 1 << 16,    // -C
    MainOver = 1 << 17,      // -o
    DumpDsnTempl = 1 << 18,  // -t
    MasterParam = 1 << 19,   // -P
    HideValue = 1 << 20,     // -H
    ShowTls = 1 << 21,       // -T
}

// ParamNode - one valid parameter name: class flags and how to get its default.
internal sealed class ParamNode
{
    public ParamFlags Flags;

    // Default value, or a function that computes it (myhostname etc.).
    private readonly string? defaultValue;
    private readonly Func<string>? compute;

    public ParamNode(ParamFlags flags, string defaultValue)
    {
        Flags = flags;
        this.defaultValue = defaultValue;
    }

    public ParamNode(ParamFlags flags, Func<string> compute)
    {
        Flags = flags;
        this.compute = compute;
    }

    public bool IsRaw => (Flags & ParamFlags.Raw) != 0;

    // DefaultValue - pcf_convert_param_node().
    public string DefaultValue => compute != null ? compute() : defaultValue!;

    // SetClass - replace the class bits (builtin/service/user).
    public void SetClass(ParamFlags cls) =>
        Flags = (Flags & ~(ParamFlags.Builtin | ParamFlags.Service | ParamFlags.User)) | cls;
}

// MasterEntry - one master.cf service (PCF_MASTER_ENT).
internal sealed class MasterEntry
{
    // "service/type": the parameter name space of this entry.
    public string NameSpace = "";

    // The fields: service, type, private, unpriv, chroot, wakeup, maxproc, command...
    // (the command and its arguments, -o options included, from index 7 on).
    public List<string> Argv = new();

    // All "-o name=value" settings of the entry, in order.
    public Dictionary<string, string> AllParams = new(StringComparer.Ordinal);

    // Read-only settings implied by the entry (service_name = the service).
    public Dictionary<string, string> RoParams = new(StringComparer.Ordinal);

    // Names known to be valid in this entry's scope (for "unused" warnings);
    // null until the service and user parameters have been registered.
    public HashSet<string>? ValidNames;

    // Line number of the entry in master.cf (for warnings).
    public int LineNumber;

    public string ServiceName => Argv.Count > 0 ? Argv[0] : "";

    public string ServiceType => Argv.Count > 1 ? Argv[1] : "";
}

// Master.cf field indices and names (PCF_MASTER_FLD_*).
internal static class MasterField
{
    public const int Service = 0;
    public const int Type = 1;
    public const int Private = 2;
    public const int Unpriv = 3;
    public const int Chroot = 4;
    public const int Wakeup = 5;
    public const int MaxProc = 6;
    public const int Command = 7;
    public const int Wildcard = -1;
    public const int None = -2;
    public const int MinFields = 8;

    public static readonly string[] Names =
    {
        "service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit", "command",
    };
}
