// NAME
//	ParamInfo - one built-in parameter: name, default, flags
// POSTFIX
//	src/postconf/postconf_node.c (PCF_PARAM_NODE flags)
using System;

namespace Postfix.Global.Params;

[Flags]
public enum ParamFlags
{
    None = 0,
    Builtin = 1 << 0,    // compiled into the programs
    Service = 1 << 1,    // defined by a master.cf service (name_param)
    User = 1 << 2,       // defined by the user ($name reference + name = value)
    Legacy = 1 << 3,     // old name, known but never listed
    ReadOnly = 1 << 4,   // process_name, process_id, service_name
    Raw = 1 << 5,        // value is never $-expanded by the programs
    Dbms = 1 << 6,       // legacy database parameter (mysql etc.)
}

public sealed record ParamInfo(string Name, string Default, ParamFlags Flags);
