// NAME
//	Services - TCP port names from /etc/services
// DESCRIPTION
//	Lookup("smtp") gives 25, as getservbyname(name, "tcp") would; -1
//	when the name is unknown.
using System;
using System.Globalization;
using System.IO;

namespace Postfix.Daemons.Master;

internal static class Services
{
    public static int Lookup(string name)
    {
        try
        {
            foreach (var raw in File.ReadLines("/etc/services"))
            {
                var hash = raw.IndexOf('#');
                var line = hash >= 0 ? raw[..hash] : raw;
                var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 2 || !f[1].EndsWith("/tcp", StringComparison.Ordinal))
                    continue;
                if (f[0] == name || Array.IndexOf(f, name, 2) >= 2)
                    return int.Parse(f[1].AsSpan(0, f[1].IndexOf('/')), CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
            // No services file: only numbers work.
        }
        return -1;
    }
}
