// NAME
//	Unescape - decode C-style backslash escapes
// POSTFIX
//	src/util/unescape.c
// DESCRIPTION
//	Decode() turns \a \b \f \n \r \t \v into their control characters
//	and \N, \NN, \NNN (octal, at most three digits) into the character
//	with that value (low 8 bits); a backslash before any other
//	character yields that character, and a backslash that ends the
//	text ends the result.
using System.Text;

namespace Postfix.Util;

public static class Unescape
{
    public static string Decode(string data)
    {
        if (data.IndexOf('\\') < 0)
            return data;
        var sb = new StringBuilder(data.Length);
        for (var i = 0; i < data.Length; i++)
        {
            var ch = data[i];
            if (ch == '\\')
            {
                if (++i >= data.Length)
                    break;
                ch = data[i];
                switch (ch)
                {
                    case 'a': ch = '\a'; break;
                    case 'b': ch = '\b'; break;
                    case 'f': ch = '\f'; break;
                    case 'n': ch = '\n'; break;
                    case 'r': ch = '\r'; break;
                    case 't': ch = '\t'; break;
                    case 'v': ch = '\v'; break;
                    case >= '0' and <= '7':
                        var value = ch - '0';
                        for (var k = 0; k < 2 && i + 1 < data.Length && data[i + 1] is >= '0' and <= '7'; k++)
                            value = (value << 3) | (data[++i] - '0');
                        ch = (char)(value & 0xff);
                        break;
                }
            }
            sb.Append(ch);
        }
        return sb.ToString();
    }
}
