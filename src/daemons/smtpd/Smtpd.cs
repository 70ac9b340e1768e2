// NAME
//	Smtpd - smtpd(8), the SMTP server
// POSTFIX
//	src/smtpd/smtpd.c
// DESCRIPTION
//	PLACEHOLDER: the smtpd helper replaces this.
namespace Postfix.Daemons.Smtpd;

public static class Smtpd
{
    public static int Run(string[] args)
    {
        System.Console.Error.WriteLine("smtpd: not implemented yet");
        return 1;
    }
}
