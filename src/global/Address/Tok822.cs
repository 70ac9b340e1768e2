// NAME
//	Tok822 - RFC 822 address parse trees
// POSTFIX
//	src/global/tok822_parse.c, src/global/tok822_tree.c, tok822.h
// DESCRIPTION
//	Scan() turns header text into a doubly linked token list (atoms,
//	quoted strings, comments, domain literals, one-character
//	operators). Parse() then groups the tokens of each address under
//	an Addr node, working from right to left and adding a missing
//	comma where two addresses run together, as the reference parser
//	does. Internalize() and Externalize() turn (sub)trees back into
//	text, unquoted or quoted; the Line flag puts each address on its
//	own line, the Trunc flag limits non-address text per address.
using System;
using System.Collections.Generic;
using System.Text;

namespace Postfix.Global.Address;

public sealed class Tok822
{
    public const int MinTok = 256;
    public const int Atom = 256;
    public const int QString = 257;
    public const int Comment = 258;
    public const int DomLit = 259;
    public const int Addr = 260;
    public const int StartGrp = 261;

    [Flags]
    public enum Str
    {
        None = 0,
        Wipe = 1 << 0,
        Term = 1 << 1,
        Line = 1 << 2,
        Trunc = 1 << 3,
        Defl = Wipe | Term,
        Head = Term | Line | Trunc,
    }

    private const string OpChars = "|%!()<>@,;:\\\".[]";
    private const int MaxNonAddrLength = 250;

    public int Type;
    public StringBuilder Text = new();
    public Tok822? Prev, Next, Head, Tail, Owner;

    public Tok822(int type, string? text = null)
    {
        Type = type;
        if (text != null)
            Text.Append(text);
    }

    private static bool IsLwsp(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsOp(char c) => OpChars.Contains(c, StringComparison.Ordinal);

    // Append - tok822_append(): insert list t2 after t1; returns its end.
    public static Tok822 Append(Tok822 t1, Tok822 t2)
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

    // Prepend - tok822_prepend(): insert list t2 before t1.
    public static Tok822 Prepend(Tok822 t1, Tok822 t2)
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

    public static Tok822? CutBefore(Tok822 tp)
    {
        var prev = tp.Prev;
        if (prev != null)
        {
            prev.Next = null;
            tp.Prev = null;
        }
        return prev;
    }

    public static Tok822? Unlink(Tok822 tp)
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

    public static Tok822 SubAppend(Tok822 t1, Tok822 t2)
    {
        if (t1.Head != null)
            return t1.Tail = Append(t1.Tail!, t2);
        t1.Head = t2;
        t2.Owner = t1;
        while (t2.Next != null)
            (t2 = t2.Next).Owner = t1;
        return t1.Tail = t2;
    }

    // Grep - tok822_grep(): the top-level tokens of a type.
    public static List<Tok822> Grep(Tok822? tree, int type)
    {
        var list = new List<Tok822>();
        for (var tp = tree; tp != null; tp = tp.Next)
            if (type == 0 || tp.Type == type)
                list.Add(tp);
        return list;
    }

    // Scan - tok822_scan_limit(); tail gets the last token.
    public static Tok822? Scan(string s, out Tok822? tail, int limit = 0)
    {
        Tok822? head = null;
        tail = null;
        var count = 0;
        var i = 0;
        while (i < s.Length)
        {
            var ch = s[i++];
            if (ch == 0)
                break;
            if (IsLwsp(ch))
                continue;
            Tok822 tp;
            if (ch == '(')
            {
                tp = new Tok822(Comment);
                i = ScanComment(tp, s, i);
            }
            else if (ch == '[')
            {
                tp = new Tok822(DomLit);
                i = Collect(tp, s, i, c => c != ']');
                if (i < s.Length)
                    i++;
            }
            else if (ch == '"')
            {
                tp = new Tok822(QString);
                i = Collect(tp, s, i, c => c != '"');
                if (i < s.Length)
                    i++;
            }
            else if (ch != '\\' && IsOp(ch))
            {
                tp = new Tok822(ch);
            }
            else
            {
                tp = new Tok822(Atom);
                i = Collect(tp, s, i - 1, c => !IsLwsp(c) && !IsOp(c));
                QuoteAtom(tp);
            }
            if (head == null)
                head = tail = tp;
            else
                tail = Append(tail!, tp);
            if (limit > 0 && ++count >= limit)
                break;
        }
        return head;
    }

    // Collect - the COLLECT() macro: backslash escapes, LWSP to space.
    private static int Collect(Tok822 t, string s, int i, Func<char, bool> cond)
    {
        while (i < s.Length && s[i] != 0)
        {
            var c = s[i];
            if (c == '\\')
            {
                if (++i >= s.Length || s[i] == 0)
                    break;
                c = s[i];
            }
            else if (!cond(c))
            {
                break;
            }
            t.Text.Append(IsLwsp(c) ? ' ' : c);
            i++;
        }
        return i;
    }

    private static int ScanComment(Tok822 tp, string s, int i)
    {
        var level = 1;
        tp.Text.Append('(');
        while (i < s.Length && s[i] != 0)
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
                if (i >= s.Length || s[i] == 0)
                    break;
                tp.Text.Append(s[i++]);
            }
        }
        return i;
    }

    private static void QuoteAtom(Tok822 tp)
    {
        for (var k = 0; k < tp.Text.Length; k++)
        {
            var ch = tp.Text[k];
            if (ch == ' ' || (ch < 128 && char.IsControl(ch)) || IsOp(ch))
            {
                tp.Type = QString;
                break;
            }
        }
    }

    // Parse - tok822_parse_limit(): the token list grouped into addresses.
    public static Tok822? Parse(string s, int limit = 0)
    {
        var first = Scan(s, out var last, limit);
        if (first == null)
            return null;
        var head = new Tok822(0);
        head.Next = first;
        first.Prev = head;
        var tail = new Tok822(0);
        last!.Next = tail;
        tail.Prev = last;

        const int doWord = 1, doGroup = 2;
        var state = doWord;
        var right = tail;
        var tp = tail.Prev!;
        while (tp.Type != 0)
        {
            if (tp.Type == Comment)
            {
                var prev = Unlink(tp);
                right = Prepend(right, tp);
                tp = prev!;
                continue;
            }
            if (tp.Type == ';')
            {
                right = Group(tp, right, ',');
                state = doGroup | doWord;
            }
            else if (tp.Type == ':' && (state & doGroup) != 0)
            {
                tp.Type = StartGrp;
                Group(tp, right, 0);
                while (tp.Type != 0 && tp.Type != ',')
                    tp = tp.Prev!;
                right = tp;
                continue;
            }
            else if (tp.Type == '>')
            {
                right = Group(tp, right, ',');
                while (tp.Type != 0 && tp.Type != '<')
                {
                    if (tp.Type == Comment)
                    {
                        var prev = Unlink(tp);
                        right = Prepend(right, tp);
                        tp = prev!;
                        continue;
                    }
                    tp = tp.Prev!;
                }
                Group(tp, right, 0);
                while (tp.Type != 0 && (tp.Type > 0xff || !">;,:".Contains((char)tp.Type, StringComparison.Ordinal)))
                    tp = tp.Prev!;
                right = tp;
                state |= doWord;
                continue;
            }
            else if (tp.Type is Atom or QString or DomLit)
            {
                if ((state & doWord) == 0)
                    right = Group(tp, right, ',').Next!;
                state &= ~doWord;
            }
            else if (tp.Type == ',')
            {
                right = Group(tp, right, 0);
                state |= doWord;
            }
            else
            {
                state |= doWord;
            }
            tp = tp.Prev!;
        }
        Group(tp, right, 0);

        var result = head.Next != tail ? head.Next : null;
        CutBefore(head.Next!);
        CutBefore(tail);
        return result;
    }

    // Group - tok822_group(): put the tokens between left and right under
    // a new Addr node; optionally insert a resynchronizing comma.
    private static Tok822 Group(Tok822 left, Tok822 right, int syncType)
    {
        Tok822? first;
        if (left != right && (first = left.Next) != right)
        {
            CutBefore(right);
            CutBefore(first!);
            var group = new Tok822(Addr);
            SubAppend(group, first!);
            Append(left, group);
            Append(group, right);
            if (syncType != 0)
                Append(left, new Tok822(syncType));
        }
        return left;
    }

    private static bool NonOperator(Tok822 t) => t.Type is Atom or QString or Comment or DomLit or Addr;

    private static bool AppendSpace(Tok822 tp)
    {
        var next = tp.Next;
        if (next == null || tp.Owner != null)
            return false;
        if (tp.Type == ',' || tp.Type == StartGrp || next.Type == '<')
            return true;
        return NonOperator(tp) && NonOperator(next);
    }

    // Addresses - the internal form of each top-level address of text.
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

    // Internalize - tok822_internalize().
    public static StringBuilder Internalize(StringBuilder vp, Tok822? tree, Str flags)
    {
        if ((flags & Str.Wipe) != 0)
            vp.Clear();
        for (var tp = tree; tp != null; tp = tp.Next)
        {
            switch (tp.Type)
            {
                case ',':
                    vp.Append(',');
                    if ((flags & Str.Line) != 0)
                    {
                        vp.Append('\n');
                        continue;
                    }
                    break;
                case Addr:
                    Internalize(vp, tp.Head, Str.None);
                    break;
                case Comment:
                case Atom:
                case QString:
                    vp.Append(tp.Text);
                    break;
                case DomLit:
                    vp.Append('[').Append(tp.Text).Append(']');
                    break;
                case StartGrp:
                    vp.Append(':');
                    break;
                default:
                    if (tp.Type >= MinTok)
                        Postfix.Util.Msg.Panic($"tok822_internalize: unknown operator {tp.Type}");
                    vp.Append((char)tp.Type);
                    break;
            }
            if (AppendSpace(tp))
                vp.Append(' ');
        }
        return vp;
    }

    public static string Internalize(Tok822? tree) => Internalize(new StringBuilder(), tree, Str.Defl).ToString();

    // Externalize - tok822_externalize().
    public static StringBuilder Externalize(StringBuilder vp, Tok822? tree, Str flags)
    {
        if ((flags & Str.Wipe) != 0)
            vp.Clear();
        var start = vp.Length;
        Tok822? addr = null;
        var addrLen = 0;
        void Enforce()
        {
            if (addr != null && vp.Length - addrLen > start + MaxNonAddrLength)
                StripAddress(vp, start, addr.Head);
        }
        for (var tp = tree; tp != null; tp = tp.Next)
        {
            switch (tp.Type)
            {
                case ',':
                    if ((flags & Str.Trunc) != 0)
                        Enforce();
                    vp.Append(',').Append((flags & Str.Line) != 0 ? '\n' : ' ');
                    if ((flags & Str.Trunc) != 0)
                    {
                        start = vp.Length;
                        addr = null;
                        addrLen = 0;
                    }
                    continue;
                case Addr:
                    addr = tp;
                    var before = vp.Length;
                    Quote822.Local(vp, Internalize(new StringBuilder(), tp.Head, Str.Term).ToString(), Quote822.Flags.EightBitClean);
                    addrLen = vp.Length - before;
                    break;
                case Atom:
                case Comment:
                    vp.Append(tp.Text);
                    break;
                case QString:
                    vp.Append('"');
                    CopyQuoted(vp, tp.Text, "\"\\\r\n");
                    vp.Append('"');
                    break;
                case DomLit:
                    vp.Append('[');
                    CopyQuoted(vp, tp.Text, "\\\r\n");
                    vp.Append(']');
                    break;
                case StartGrp:
                    vp.Append(':');
                    break;
                case '<':
                    if (tp.Next != null && tp.Next.Type == '>')
                    {
                        addr = tp;
                        addrLen = 0;
                    }
                    vp.Append('<');
                    break;
                default:
                    if (tp.Type >= MinTok)
                        Postfix.Util.Msg.Panic($"tok822_externalize: unknown operator {tp.Type}");
                    vp.Append((char)tp.Type);
                    break;
            }
            if (AppendSpace(tp))
                vp.Append(' ');
        }
        if ((flags & Str.Trunc) != 0)
            Enforce();
        return vp;
    }

    public static string Externalize(Tok822? tree, Str flags = Str.Defl) => Externalize(new StringBuilder(), tree, flags).ToString();

    private static void StripAddress(StringBuilder vp, int start, Tok822? addr)
    {
        var text = vp.ToString(start, Math.Min(100, vp.Length - start));
        Postfix.Util.Msg.Warn($"stripping too many comments from address: {Printable(Raw.Text(text))}...");
        vp.Length = start;
        vp.Append('<');
        if (addr != null)
            Quote822.Local(vp, Internalize(new StringBuilder(), addr, Str.Term).ToString(), Quote822.Flags.EightBitClean);
        vp.Append('>');
    }

    private static string Printable(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
            sb.Append(c < 32 || c == 127 ? '?' : c);
        return sb.ToString();
    }

    private static void CopyQuoted(StringBuilder vp, StringBuilder str, string quoteSet)
    {
        for (var k = 0; k < str.Length; k++)
        {
            var ch = str[k];
            if (quoteSet.Contains(ch, StringComparison.Ordinal))
                vp.Append('\\');
            vp.Append(ch);
        }
    }
}
