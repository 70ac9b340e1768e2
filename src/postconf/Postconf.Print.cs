// NAME
//	Postconf (print) - output lines with normalized whitespace and folding
// POSTFIX
//	src/postconf/postconf_print.c
// DESCRIPTION
//	Words are separated by single spaces; with -f, lines longer than 80
//	columns are folded before a word and continued with 4 spaces.
using System;
using System.IO;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    public const int LineLimit = 80;
    public const string IndentText = "    ";
    private const string Separators = " \t\r\n";

    // PrintLine - pcf_print_line(); text is one formatted line (its "\n" optional).
    public static void PrintLine(TextWriter fp, Mode mode, string text)
    {
        var lineLen = 0;
        var i = 0;
        while (true)
        {
            while (i < text.Length && Separators.IndexOf(text[i]) >= 0)
                i++;
            if (i >= text.Length)
                break;
            var start = i;
            while (i < text.Length && Separators.IndexOf(text[i]) < 0)
                i++;
            var wordLen = i - start;
            if (wordLen > 0 && lineLen > 0)
            {
                if ((mode & Mode.FoldLine) == 0 || lineLen + wordLen < LineLimit)
                {
                    fp.Write(' ');
                    lineLen += 1;
                }
                else
                {
                    fp.Write("\n" + IndentText);
                    lineLen = IndentText.Length;
                }
            }
            fp.Write(text.AsSpan(start, wordLen));
            lineLen += wordLen;
        }
        fp.Write('\n');
    }
}
