// NAME
//	Tok822 - RFC 822 address tokens, parse tree and internal form
// POSTFIX
//	src/global/tok822_parse.c, src/global/tok822_tree.c, src/global/tok822.h
// DESCRIPTION
//	Scan() cuts text into atoms, quoted strings, comments, domain
//	literals and one-character operators; Parse() groups the tokens,
//	right to left, into address nodes (Addr), adding the commas that
//	separate "word word <addr>" forms, so that Addresses() finds every
//	address that sendmail treats as a recipient or sender. Internalize()
//	gives an address in its unquoted internal form. Text is handled as
//	Latin-1 strings: one char per input byte, so 8-bit data passes
//	through untouched.
using System.Collections.Generic;
using System.Text;

namespace Postfix.Commands.Sendmail;

internal sealed class Tok822
{
    public const int MinTok = 256;
    public const int Atom = 256;
    public const int QString = 257;
    public const int Comment = 258;
    public const int DomLit = 259;
    public const int Addr = 260;
    public const int StartGrp = 261;

    // Operators: "|%!" plus the RFC 822 specials.
    private const string OpChars = "|%!()<>@,;:\\\".[]";

    private const int DoWord = 1;
    private const int DoGroup = 2;

    public int Type;
    public readonly StringBuilder Text = new();
    public Tok822? Next;
    public Tok822? Prev;
    public Tok822? Head;
    public Tok822? Tail;
    public Tok822? Owner;

    private Tok822(int type) => Type = type;

    private static bool IsSpaceTabCrLf(char c) => c == ' ' || c == '\t' || c == '\r' || c == '\n';

    private static bool IsOp(char c) => OpChars.IndexOf(c) >= 0;

    // Append - insert the chain t2 after t1; returns the last of t2.
    private static Tok822 Append(Tok822 t1, Tok822 t2)
    {
        var next = t1.Next;
        t1.Next = t2;
        t2.Prev = t1;
        t2.Owner = t1.Owner;
        while (t2.Next != null)
            (t2 = t2.Next).Owner = t1.Owner;
        t2.Next = next;
        if (next != null)
            next.Prev = t2;
        return t2;
    }

    // Prepend - insert the chain t2 before t1; returns the last of t2.
    private static Tok822 Prepend(Tok822 t1, Tok822 t2)
    {
        var prev = t1.Prev;
        if (prev != null)
            prev.Next = t2;
        t2.Prev = prev;
        t2.Owner = t1.Owner;
        while (t2.Next != null)
            (t2 = t2.Next).Owner = t1.Owner;
        t2.Next = t1;
        t1.Prev = t2;
        return t2;
    }

    private static void CutBefore(Tok822 tp)
    {
        var prev = tp.Prev;
        if (prev != null)
        {
            prev.Next = null;
            tp.Prev = null;
        }
    }

    private static Tok822? Unlink(Tok822 tp)
    {
        var prev = tp.Prev;
        var next = tp.Next;
        if (prev != null)
            prev.Next = next;
        if (next != null)
            next.Prev = prev;
        tp.Prev = tp.Next = null;
        return prev;
    }

    private static void SubAppend(Tok822 t1, Tok822 t2)
    {
        if (t1.Head != null)
        {
            t1.Tail = Append(t1.Tail!, t2);
            return;
        }
        t1.Head = t2;
        t2.Owner = t1;
        while (t2.Next != null)
            (t2 = t2.Next).Owner = t1;
        t1.Tail = t2;
    }

    // Group - put the tokens between left and right under a new node,
    // optionally followed (right after left) by a resync operator.
    private static Tok822 Group(int groupType, Tok822 left, Tok822 right, int syncType)
    {
        Tok822? first;
        if (left != right && (first = left.Next) != right && first != null)
        {
            CutBefore(right);
            CutBefore(first);
            var group = new Tok822(groupType);
            SubAppend(group, first);
            Append(left, group);
            Append(group, right);
            if (syncType != 0)
                Append(left, new Tok822(syncType));
        }
        return left;
    }

    // Scan - the flat token list of text (up to a NUL, as C sees it).
    public static Tok822? Scan(string text, out Tok822? tail)
    {
        Tok822? head = null;
        tail = null;
        var nul = text.IndexOf('\0');
        if (nul >= 0)
            text = text[..nul];
        var i = 0;
        while (i < text.Length)
        {
            var ch = text[i++];
            if (IsSpaceTabCrLf(ch))
                continue;
            Tok822 tp;
            if (ch == '(')
            {
                tp = new Tok822(Comment);
                i = ScanComment(tp, text, i);
            }
            else if (ch == '[')
            {
                tp = new Tok822(DomLit);
                i = Collect(tp, text, i, c => c != ']');
                if (i < text.Length)
                    i++;
            }
            else if (ch == '"')
            {
                tp = new Tok822(QString);
                i = Collect(tp, text, i, c => c != '"');
                if (i < text.Length)
                    i++;
            }
            else if (ch != '\\' && IsOp(ch))
            {
                tp = new Tok822(ch);
            }
            else
            {
                tp = new Tok822(Atom);
                i = Collect(tp, text, i - 1, c => !IsSpaceTabCrLf(c) && !IsOp(c));
                QuoteAtom(tp);
            }
            if (head == null)
                head = tail = tp;
            else
                tail = Append(tail!, tp);
        }
        return head;
    }

    // Collect - the COLLECT macro: characters while cond holds; a
    // backslash takes the next character literally.
    private static int Collect(Tok822 tp, string s, int i, System.Func<char, bool> cond)
    {
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '\\')
            {
                if (++i >= s.Length)
                    break;
                c = s[i];
            }
            else if (!cond(c))
            {
                break;
            }
            tp.Text.Append(IsSpaceTabCrLf(c) ? ' ' : c);
            i++;
        }
        return i;
    }

    // ScanComment - a comment is kept in external form, nesting included.
    private static int ScanComment(Tok822 tp, string s, int i)
    {
        var level = 1;
        tp.Text.Append('(');
        while (i < s.Length)
        {
            var ch = s[i++];
            tp.Text.Append(ch);
            if (ch == '(')
            {
                level++;
            }
            else if (ch == ')')
            {
                if (--level == 0)
                    break;
            }
            else if (ch == '\\')
            {
                if (i >= s.Length)
                    break;
                tp.Text.Append(s[i++]);
            }
        }
        return i;
    }

    // QuoteAtom - an atom with escaped specials becomes a quoted string.
    private static void QuoteAtom(Tok822 tp)
    {
        for (var k = 0; k < tp.Text.Length; k++)
        {
            var ch = tp.Text[k];
            if (ch == ' ' || ch < 0x20 || ch == 0x7f || IsOp(ch))
            {
                tp.Type = QString;
                break;
            }
        }
    }

    // Parse - tokenize and build the parse tree; null for empty text.
    public static Tok822? Parse(string text)
    {
        var first = Scan(text, out var last);
        if (first == null)
            return null;
        var head = new Tok822(0);
        head.Next = first;
        first.Prev = head;
        var tail = new Tok822(0);
        last!.Next = tail;
        tail.Prev = last;

        var state = DoWord;
        var right = tail;
        var tp = tail.Prev!;
        while (tp.Type != 0)
        {
            if (tp.Type == Comment)
            {
                var prev = Unlink(tp)!;
                right = Prepend(right, tp);
                tp = prev;
                continue;
            }
            if (tp.Type == ';')
            {
                right = Group(Addr, tp, right, ',');
                state = DoGroup | DoWord;
            }
            else if (tp.Type == ':' && (state & DoGroup) != 0)
            {
                tp.Type = StartGrp;
                Group(Addr, tp, right, 0);
                while (tp.Type != 0 && tp.Type != ',')
                    tp = tp.Prev!;
                right = tp;
                continue;
            }
            else if (tp.Type == '>')
            {
                right = Group(Addr, tp, right, ',');
                while (tp.Type != 0 && tp.Type != '<')
                {
                    if (tp.Type == Comment)
                    {
                        var prev = Unlink(tp)!;
                        right = Prepend(right, tp);
                        tp = prev;
                        continue;
                    }
                    tp = tp.Prev!;
                }
                Group(Addr, tp, right, 0);
                while (tp.Type != 0 && (tp.Type > 0xff || ">;,:".IndexOf((char)tp.Type) < 0))
                    tp = tp.Prev!;
                right = tp;
                state |= DoWord;
                continue;
            }
            else if (tp.Type == Atom || tp.Type == QString || tp.Type == DomLit)
            {
                if ((state & DoWord) == 0)
                    right = Group(Addr, tp, right, ',').Next!;
                state &= ~DoWord;
            }
            else if (tp.Type == ',')
            {
                right = Group(Addr, tp, right, 0);
                state |= DoWord;
            }
            else
            {
                state |= DoWord;
            }
            tp = tp.Prev!;
        }
        Group(Addr, tp, right, 0);

        Tok822? result = head.Next != tail ? head.Next : null;
        CutBefore(head.Next!);
        CutBefore(tail);
        return result;
    }

    // Addresses - the internal form of each top-level address node.
    public static List<string> Addresses(string text)
    {
        var list = new List<string>();
        for (var tp = Parse(text); tp != null; tp = tp.Next)
        {
            if (tp.Type == Addr)
                list.Add(Internalize(tp.Head));
        }
        return list;
    }

    // Internalize - tok822_internalize(TOK822_STR_DEFL).
    public static string Internalize(Tok822? tree)
    {
        var sb = new StringBuilder();
        InternalizeTo(sb, tree);
        return sb.ToString();
    }

    private static void InternalizeTo(StringBuilder sb, Tok822? tree)
    {
        for (var tp = tree; tp != null; tp = tp.Next)
        {
            switch (tp.Type)
            {
                case ',':
                    sb.Append(',');
                    break;
                case Addr:
                    InternalizeTo(sb, tp.Head);
                    break;
                case Comment:
                case Atom:
                case QString:
                    sb.Append(tp.Text);
                    break;
                case DomLit:
                    sb.Append('[').Append(tp.Text).Append(']');
                    break;
                case StartGrp:
                    sb.Append(':');
                    break;
                default:
                    sb.Append((char)tp.Type);
                    break;
            }
            if (AppendSpace(tp))
                sb.Append(' ');
        }
    }

    private static bool NonOperator(Tok822 t) =>
        t.Type is Atom or QString or Comment or DomLit or Addr;

    private static bool AppendSpace(Tok822 tp)
    {
        var next = tp.Next;
        if (next == null || tp.Owner != null)
            return false;
        if (tp.Type == ',' || tp.Type == StartGrp || next.Type == '<')
            return true;
        return NonOperator(tp) && NonOperator(next);
    }
}
