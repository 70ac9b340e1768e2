// NAME
//	LineWrap - break long text into indented lines
// POSTFIX
//	src/util/line_wrap.c
// DESCRIPTION
//	Wrap() breaks text at spaces and tabs into lines of at most length
//	columns (longer words stay whole), drops trailing blanks, and
//	indents every line after the first by indent (a negative indent
//	makes a hanging indent of the first line instead). output gets each
//	line and its indentation.
using System;

namespace Postfix.Daemons.Bounce;

internal static class LineWrap
{
    public static void Wrap(string str, int length, int indent, Action<string, int> output)
    {
        int currIndent, currLen;
        if (indent < 0)
        {
            currIndent = -indent;
            currLen = length + indent;
        }
        else
        {
            currIndent = 0;
            currLen = length;
        }
        var startLine = 0;
        for (var word = 0; word >= 0;)
        {
            var nextSpace = str.IndexOfAny([' ', '\t'], word);
            if (nextSpace < 0)
                nextSpace = str.Length;
            if (word > startLine && nextSpace - startLine > currLen)
            {
                var lineLen = word - startLine;
                while (lineLen > 0 && BounceLog.IsSpace(str[startLine + lineLen - 1]))
                    lineLen--;
                output(str.Substring(startLine, lineLen), currIndent);
                while (word < str.Length && BounceLog.IsSpace(str[word]))
                    word++;
                if (startLine == 0)
                {
                    currIndent += indent;
                    currLen -= indent;
                }
                startLine = word;
            }
            word = nextSpace < str.Length ? nextSpace + 1 : -1;
        }
        var rest = str.Length - startLine;
        while (rest > 0 && BounceLog.IsSpace(str[startLine + rest - 1]))
            rest--;
        output(str.Substring(startLine, rest), currIndent);
    }
}
