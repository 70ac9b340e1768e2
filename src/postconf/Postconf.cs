// NAME
//	Postconf - option parsing, sanity checks and dispatch
// POSTFIX
//	src/postconf/postconf.c
// DESCRIPTION
//	Options are parsed with getopt (stopping at the first non-option),
//	made explicit (no major mode means -p; a name=value argument means
//	-e), checked for exclusive and incompatible combinations with the
//	reference's messages, and dispatched to the module that does the work.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    // ConfigDir - $config_directory as postconf uses it (var_config_dir).
    public static string ConfigDir = MailConf.DefConfigDir;

    private static readonly char[] ClassSeparators = { ',', ' ', '\t', '\r', '\n' };

    private const Mode MainOrMaster = Mode.MainParam | Mode.MasterEntry | Mode.MasterFld | Mode.MasterParam;

    // Exclusive groups: first the major modes, then conflicting modifiers.
    private static readonly Mode[] IncompatOptions =
    {
        Mode.ShowSaslServ | Mode.ShowSaslClnt | Mode.ExpDsnTempl | Mode.ShowLocks | Mode.ShowMaps
            | Mode.DumpDsnTempl | Mode.MainParam | Mode.MasterEntry | Mode.MasterFld | Mode.MasterParam | Mode.ShowTls,
        Mode.ShowDefs | Mode.EditConf | Mode.ShowNonDef | Mode.CommentOut | Mode.EditExcl,
        Mode.FoldLine | Mode.EditConf | Mode.CommentOut | Mode.EditExcl,
        Mode.ShowEval | Mode.EditConf | Mode.CommentOut | Mode.EditExcl,
        Mode.MainOver | Mode.ShowDefs | Mode.EditConf | Mode.CommentOut | Mode.EditExcl,
        Mode.HideName | Mode.EditConf | Mode.CommentOut | Mode.EditExcl | Mode.HideValue,
    };

    // Each major mode with the only modifiers it accepts.
    private static readonly (Mode Option, Mode Allowed)[] CompatOptions =
    {
        (Mode.ShowSaslServ, Mode.None),
        (Mode.ShowSaslClnt, Mode.None),
        (Mode.ExpDsnTempl, Mode.None),
        (Mode.ShowLocks, Mode.None),
        (Mode.ShowMaps, Mode.None),
        (Mode.ShowTls, Mode.None),
        (Mode.DumpDsnTempl, Mode.None),
        (Mode.MainParam, Mode.EditConf | Mode.EditExcl | Mode.CommentOut | Mode.FoldLine | Mode.HideName
            | Mode.ParamClass | Mode.ShowEval | Mode.ShowDefs | Mode.ShowNonDef | Mode.MainOver | Mode.HideValue),
        (Mode.MasterEntry, Mode.EditConf | Mode.EditExcl | Mode.CommentOut | Mode.FoldLine | Mode.MainOver | Mode.ShowEval),
        (Mode.MasterFld, Mode.EditConf | Mode.FoldLine | Mode.HideName | Mode.MainOver | Mode.ShowEval | Mode.HideValue),
        (Mode.MasterParam, Mode.EditConf | Mode.EditExcl | Mode.FoldLine | Mode.HideName | Mode.MainOver
            | Mode.ShowEval | Mode.HideValue),
        (Mode.ParamClass, Mode.MainParam | Mode.ShowDefs | Mode.ShowNonDef),
    };

    // Option letters in the order the reference names them in messages.
    private static readonly (string Name, Mode Bit)[] CompatNames =
    {
        ("-a", Mode.ShowSaslServ), ("-A", Mode.ShowSaslClnt), ("-b", Mode.ExpDsnTempl), ("-C", Mode.ParamClass),
        ("-d", Mode.ShowDefs), ("-e", Mode.EditConf), ("-f", Mode.FoldLine), ("-F", Mode.MasterFld),
        ("-h", Mode.HideName), ("-H", Mode.HideValue), ("-l", Mode.ShowLocks), ("-m", Mode.ShowMaps),
        ("-M", Mode.MasterEntry), ("-n", Mode.ShowNonDef), ("-o", Mode.MainOver), ("-p", Mode.MainParam),
        ("-P", Mode.MasterParam), ("-t", Mode.DumpDsnTempl), ("-T", Mode.ShowTls), ("-x", Mode.ShowEval),
        ("-X", Mode.EditExcl), ("-#", Mode.CommentOut),
    };

    private static readonly (string Name, Postfix.Global.Params.ParamFlags Mask)[] ParamClassNames =
    {
        ("builtin", Postfix.Global.Params.ParamFlags.Builtin),
        ("service", Postfix.Global.Params.ParamFlags.Service),
        ("user", Postfix.Global.Params.ParamFlags.User),
        ("all", MaskClass),
    };

    public const Postfix.Global.Params.ParamFlags MaskClass =
        Postfix.Global.Params.ParamFlags.Builtin | Postfix.Global.Params.ParamFlags.Service | Postfix.Global.Params.ParamFlags.User;

    public static int Run(string[] args)
    {
        var progName = Msg.Tag;
        var paramClass = MaskClass;
        List<string>? overrides = null;
        string? tlsArg = null;
        var templates = false;

        var getopt = new GetOpt(args, "aAbc:C:deEfFhHlmMno:pPtT:vxX#", progName);
        int ch;
        while ((ch = getopt.Next()) > 0)
        {
            switch (ch)
            {
                case 'a': CmdMode |= Mode.ShowSaslServ; break;
                case 'A': CmdMode |= Mode.ShowSaslClnt; break;
                case 'b':
                    CmdMode |= Mode.ExpDsnTempl;
                    if (templates)
                        Msg.Fatal("specify one of -b and -t");
                    templates = true;
                    break;
                case 'c': Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, getopt.Optarg); break;
                case 'C': paramClass = ParseParamClass(getopt.Optarg!); break;
                case 'd': CmdMode |= Mode.ShowDefs; break;
                case 'e': CmdMode |= Mode.EditConf; break;
                case 'f': CmdMode |= Mode.FoldLine; break;
                case 'F': CmdMode |= Mode.MasterFld; break;
                case '#': CmdMode |= Mode.CommentOut; break;
                case 'h': CmdMode |= Mode.HideName; break;
                case 'H': CmdMode |= Mode.HideValue; break;
                case 'l': CmdMode |= Mode.ShowLocks; break;
                case 'm': CmdMode |= Mode.ShowMaps; break;
                case 'M': CmdMode |= Mode.MasterEntry; break;
                case 'n': CmdMode |= Mode.ShowNonDef; break;
                case 'o':
                    CmdMode |= Mode.MainOver;
                    (overrides ??= new List<string>()).Add(getopt.Optarg!);
                    break;
                case 'p': CmdMode |= Mode.MainParam; break;
                case 'P': CmdMode |= Mode.MasterParam; break;
                case 't':
                    CmdMode |= Mode.DumpDsnTempl;
                    if (templates)
                        Msg.Fatal("specify one of -b and -t");
                    templates = true;
                    break;
                case 'T':
                    if ((CmdMode & Mode.ShowTls) != 0)
                        Msg.Fatal("At most one -T <mode> option may be specified");
                    CmdMode |= Mode.ShowTls;
                    tlsArg = getopt.Optarg;
                    break;
                case 'x': CmdMode |= Mode.ShowEval; break;
                case 'X': CmdMode |= Mode.EditExcl; break;
                case 'v': Msg.Verbose++; break;
                default: Usage(progName); break;
            }
        }
        var names = args[getopt.Optind..];
        CompatLevel.Register();
        SetConfigDir();

        if ((CmdMode & IncompatOptions[0]) == 0)
            CmdMode |= Mode.MainParam;
        if ((CmdMode & MainOrMaster) != 0 && names.Length > 0 && names[0].Contains('=', StringComparison.Ordinal))
            CmdMode |= Mode.EditConf;

        CheckExclusiveOptions(CmdMode);
        CheckCompatOptions(CmdMode);

        if ((CmdMode & Mode.EditConf) != 0 && names.Length == 0)
            Msg.Fatal("-e requires name=value argument");

        var fp = ProgramHost.Out;
        if (templates)
        {
            if (names.Length > 1)
                Msg.Fatal("options -b and -t require at most one template file");
            ShowTemplates(fp, (CmdMode & Mode.ExpDsnTempl) != 0, names.Length > 0 ? names[0] : null, overrides);
        }
        else if ((CmdMode & Mode.ShowMaps) != 0)
        {
            ReadParameters();
            ShowMaps(fp);
        }
        else if ((CmdMode & Mode.ShowLocks) != 0)
        {
            ShowLocks(fp);
        }
        else if ((CmdMode & (Mode.MasterEntry | Mode.MasterFld | Mode.MasterParam)) != 0
                 && (CmdMode & (Mode.EditConf | Mode.EditExcl | Mode.CommentOut)) == 0)
        {
            ReadMaster(true);
            ReadParameters();
            if (overrides != null)
                SetParameters(overrides);
            RegisterBuiltinParameters(BaseName(progName), Sys.GetPid());
            RegisterServiceParameters();
            RegisterUserParameters();
            if ((CmdMode & Mode.MasterFld) != 0)
                ShowMasterFields(fp, CmdMode, names);
            else if ((CmdMode & Mode.MasterParam) != 0)
                ShowMasterParams(fp, CmdMode, names);
            else
                ShowMasterEntries(fp, CmdMode, names);
            FlagUnusedMasterParameters();
        }
        else if ((CmdMode & Mode.ShowSaslServ) != 0)
        {
            ShowSasl(fp, server: true);
        }
        else if ((CmdMode & Mode.ShowSaslClnt) != 0)
        {
            ShowSasl(fp, server: false);
        }
        else if ((CmdMode & Mode.ShowTls) != 0)
        {
            return ShowTls(fp, tlsArg!);
        }
        else if ((CmdMode & (Mode.EditConf | Mode.CommentOut | Mode.EditExcl)) != 0)
        {
            if (names.Length == 0)
                Msg.Fatal("missing service argument");
            if ((CmdMode & (Mode.MasterEntry | Mode.MasterFld | Mode.MasterParam)) != 0)
                EditMaster(CmdMode, names);
            else
                EditMain(CmdMode, names);
        }
        else
        {
            if ((CmdMode & Mode.ShowDefs) == 0)
            {
                ReadParameters();
                if (overrides != null)
                    SetParameters(overrides);
            }
            RegisterBuiltinParameters(BaseName(progName), Sys.GetPid());
            ReadMaster(false);
            RegisterServiceParameters();
            if ((CmdMode & Mode.ShowDefs) == 0)
                RegisterUserParameters();
            ShowParameters(fp, CmdMode, paramClass, names);
            if ((CmdMode & Mode.ShowDefs) == 0)
            {
                FlagUnusedMainParameters();
                FlagUnusedMasterParameters();
            }
        }
        return 0;
    }

    private static string BaseName(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash >= 0 && slash + 1 < path.Length ? path[(slash + 1)..] : path;
    }

    private static void Usage(string progName)
    {
        Msg.Fatal($"usage: {progName}"
            + " [-a (server SASL types)]"
            + " [-A (client SASL types)]"
            + " [-b (bounce templates)]"
            + " [-c config_dir]"
            + " [-c param_class]"
            + " [-d (parameter defaults)]"
            + " [-e (edit configuration)]"
            + " [-f (fold lines)]"
            + " [-F (master.cf fields)]"
            + " [-h (no names)]"
            + " [-H (no values)]"
            + " [-l (lock types)]"
            + " [-m (map types)]"
            + " [-M (master.cf)]"
            + " [-n (non-default parameters)]"
            + " [-o name=value (override parameter value)]"
            + " [-p (main.cf, default)]"
            + " [-P (master.cf parameters)]"
            + " [-t (bounce templates)]"
            + " [-T compile-version|run-version|public-key-algorithms]"
            + " [-v (verbose)]"
            + " [-x (expand parameter values)]"
            + " [-X (exclude)]"
            + " [-# (comment-out)]"
            + " [name...]");
    }

    // ParseParamClass - -C builtin,service,user,all (name_mask_opt, any case).
    private static Postfix.Global.Params.ParamFlags ParseParamClass(string text)
    {
        var result = Postfix.Global.Params.ParamFlags.None;
        foreach (var word in text.Split(ClassSeparators, StringSplitOptions.RemoveEmptyEntries))
        {
            var found = false;
            foreach (var (name, mask) in ParamClassNames)
            {
                if (string.Equals(name, word, StringComparison.OrdinalIgnoreCase))
                {
                    result |= mask;
                    found = true;
                    break;
                }
            }
            if (!found)
                Msg.Fatal($"unknown -C option value \"{word}\" in \"{text}\"");
        }
        return result;
    }

    // OptionNames - option letters for the mode bits, reference order.
    private static string OptionNames(Mode bits)
    {
        var sb = new StringBuilder();
        foreach (var (name, bit) in CompatNames)
        {
            if ((bits & bit) != 0)
            {
                if (sb.Length > 0)
                    sb.Append(' ');
                sb.Append(name);
                bits &= ~bit;
            }
        }
        if (bits != 0)
        {
            if (sb.Length > 0)
                sb.Append(' ');
            sb.Append("0x").Append(((int)bits).ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static void CheckExclusiveOptions(Mode mode)
    {
        foreach (var group in IncompatOptions)
        {
            var bits = group & mode;
            if (bits != 0 && (bits & (bits - 1)) != 0)
                Msg.Fatal($"specify one of {OptionNames(bits)}");
        }
    }

    private static void CheckCompatOptions(Mode mode)
    {
        foreach (var (option, allowed) in CompatOptions)
        {
            Mode excess;
            if ((mode & option) != 0 && (excess = mode & ~(option | allowed)) != 0)
                Msg.Fatal($"with option {OptionNames(option)}, do not specify {OptionNames(excess)}");
        }
    }

    // SetConfigDir - pcf_set_config_dir(): $MAIL_CONFIG also sets config_directory.
    public static void SetConfigDir()
    {
        var env = Environment.GetEnvironmentVariable(MailConf.ConfEnvPath);
        if (env != null)
        {
            ConfigDir = env;
            MainConf["config_directory"] = env;
        }
        else
        {
            ConfigDir = MailConf.DefConfigDir;
        }
    }

    // ResetForTests - forget all state between in-process runs (unit tests).
    internal static void ResetForTests()
    {
        CmdMode = Mode.None;
        ParamTable = new Dictionary<string, ParamNode>(StringComparer.Ordinal);
        MasterTable = new List<MasterEntry>();
        MainConf = new Dictionary<string, string>(StringComparer.Ordinal);
        RestClassTable.Clear();
        DbmsFilesSeen.Clear();
        cachedHostName = cachedDomainName = cachedNetworks = varMyHostname = null;
        ConfigDir = MailConf.DefConfigDir;
    }
}
