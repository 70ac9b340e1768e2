// NAME
//	HotFileReader - read a configuration file until it has cooled down
// POSTFIX
//	src/util/dict.c (dict_load_file_xt)
// DESCRIPTION
//	A file modified during the read (or within the second before it)
//	may be half written, so it is parsed again after a 300 ms pause until
//	its modification time is older than the read. The parser runs on
//	every pass, as in Postfix, so its warnings repeat for a hot file.
using System;
using System.IO;
using System.Threading;

namespace Postfix.Util;

public static class HotFileReader
{
    // Load - parse(path bytes) until the file is cool; false when it can't be opened.
    public static bool Load(string path, Action<byte[]> parse, out int errno)
    {
        errno = 0;
        for (var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds(); ;)
        {
            byte[] data;
            long mtime;
            try
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
                data = new byte[fs.Length];
                var n = 0;
                while (n < data.Length)
                {
                    var r = fs.Read(data, n, data.Length - n);
                    if (r <= 0)
                        break;
                    n += r;
                }
                if (n < data.Length)
                    Array.Resize(ref data, n);
                mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errno = Sys.ErrnoOf(e);
                return false;
            }
            parse(data);
            var after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (mtime < before - 1 || mtime > after)
                return true;
            Thread.Sleep(300);
            before = after;
        }
    }
}
