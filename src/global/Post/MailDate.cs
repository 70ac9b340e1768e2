// NAME
//	MailDate - RFC 2822 date in local time
// POSTFIX
//	src/global/mail_date.c
// DESCRIPTION
//	Format() gives "Sat, 21 Nov 2026 08:45:16 +0000 (UTC)": weekday, day
//	of month (space padded, strftime %e), month, year, wall-clock time,
//	the offset from UTC and the time zone abbreviation, computed by the
//	C library's localtime_r() and strftime() as the reference does.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Postfix.Global.Post;

public static partial class MailDate
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Tm
    {
        public int Sec, Min, Hour, Mday, Mon, Year, Wday, Yday, Isdst;
        public long Gmtoff;
        public nint Zone;
    }

    [LibraryImport("libc", EntryPoint = "localtime_r")]
    private static partial nint LocalTime(ref long when, ref Tm result);

    [LibraryImport("libc", EntryPoint = "gmtime_r")]
    private static partial nint GmTime(ref long when, ref Tm result);

    [LibraryImport("libc", EntryPoint = "strftime")]
    private static unsafe partial nuint StrFTime(byte* buf, nuint max, byte* format, ref Tm tm);

    private static unsafe string Strftime(string format, ref Tm tm)
    {
        var fmt = Encoding.ASCII.GetBytes(format + "\0");
        var buf = new byte[256];
        fixed (byte* b = buf)
        fixed (byte* f = fmt)
        {
            var n = StrFTime(b, (nuint)buf.Length, f, ref tm);
            return Encoding.UTF8.GetString(buf, 0, (int)n);
        }
    }

    // Format - mail_date().
    public static string Format(long when)
    {
        var gmt = new Tm();
        var lt = new Tm();
        GmTime(ref when, ref gmt);
        LocalTime(ref when, ref lt);
        const int dayMin = 24 * 60;
        var gmtoff = (lt.Hour - gmt.Hour) * 60 + lt.Min - gmt.Min;
        if (lt.Year < gmt.Year)
            gmtoff -= dayMin;
        else if (lt.Year > gmt.Year)
            gmtoff += dayMin;
        else if (lt.Yday < gmt.Yday)
            gmtoff -= dayMin;
        else if (lt.Yday > gmt.Yday)
            gmtoff += dayMin;
        if (lt.Sec <= gmt.Sec - 60)
            gmtoff -= 1;
        else if (lt.Sec >= gmt.Sec + 60)
            gmtoff += 1;
        var sb = new StringBuilder(Strftime("%a, %e %b %Y %H:%M:%S ", ref lt));
        var hours = gmtoff / 60; // "%+03d": the sign is that of the hours
        sb.Append(hours < 0 ? '-' : '+')
          .Append(Math.Abs(hours).ToString("00", System.Globalization.CultureInfo.InvariantCulture))
          .Append((Math.Abs(gmtoff) % 60).ToString("00", System.Globalization.CultureInfo.InvariantCulture));
        sb.Append(Strftime(" (%Z)", ref lt));
        return sb.ToString();
    }

    // UtcStamp - "%Y%m%d%H%M%S" in UTC, for Message-Id.
    public static string UtcStamp(long when) =>
        DateTimeOffset.FromUnixTimeSeconds(when).UtcDateTime.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
}
