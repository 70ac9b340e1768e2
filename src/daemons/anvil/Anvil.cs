// NAME
//	Anvil - anvil(8), the connection count and rate limiting server
// POSTFIX
//	src/anvil/anvil.c
// DESCRIPTION
//	PLACEHOLDER: the anvil helper replaces this.
namespace Postfix.Daemons.Anvil;

public static class Anvil
{
    public static int Run(string[] args)
    {
        System.Console.Error.WriteLine("anvil: not implemented yet");
        return 1;
    }
}
