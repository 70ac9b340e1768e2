// NAME
//	Postconf (other) - map types, lock methods, SASL types, TLS
// POSTFIX
//	src/postconf/postconf_other.c
// DESCRIPTION
//	These list what this implementation supports, not what the
//	reference was built with: -m the table types we can open, -a/-A the
//	SASL plug-ins we have, -T the TLS library we run on.
using System;
using System.IO;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    // ShowMaps - the table types registered in our dictionary layer, sorted.
    public static void ShowMaps(TextWriter fp)
    {
        var types = Postfix.Global.Dict.DictOpen.Types();
        types.Sort(StringComparer.Ordinal);
        foreach (var t in types)
            fp.Write(t + "\n");
    }

    public static void ShowLocks(TextWriter fp)
    {
        fp.Write("flock\nfcntl\ndotlock\n");
    }

    // ShowSasl - server side: the Dovecot auth protocol; no client plug-in yet.
    public static void ShowSasl(TextWriter fp, bool server)
    {
        if (server)
            fp.Write("dovecot\n");
    }

    [DllImport("libssl.so.3", EntryPoint = "OpenSSL_version")]
    private static extern nint OpenSslVersion(int type);

    // ShowTls - -T compile-version|run-version|public-key-algorithms.
    public static int ShowTls(TextWriter fp, string what)
    {
        switch (what)
        {
            case "compile-version":
            case "run-version":
                string version;
                try
                {
                    version = Marshal.PtrToStringUTF8(OpenSslVersion(0)) ?? "";
                }
                catch (DllNotFoundException)
                {
                    version = "";
                }
                fp.Write(version + "\n");
                return 0;
            case "public-key-algorithms":
                fp.Write("dsa\necdsa\nrsa\n");
                return 0;
            default:
                Msg.Warn($"unknown 'postconf -T' mode: {what}");
                return 1;
        }
    }
}
