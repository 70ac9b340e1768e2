// NAME
//	DictUtf8 - UTF-8 checks and casefolding in front of a table
// POSTFIX
//	src/util/dict_utf8.c
// DESCRIPTION
//	Active when smtputf8_enable is on and the caller asked for it.
//	Keys that are not valid UTF-8 are refused (with a warning); keys
//	of fixed-string tables are casefolded over all of Unicode, then the
//	table is called with its own folding turned off.
using Postfix.Util;

using System;

namespace Postfix.Global.Dict;

public sealed class DictUtf8 : Dict
{
    private readonly Dict inner;

    private DictUtf8(Dict inner)
        : base(inner.Type, inner.Name, inner.OpenFlags, inner.Flags | DictFlags.Utf8Active)
    {
        this.inner = inner;
        inner.Flags |= DictFlags.Utf8Active;
    }

    public static Dict Activate(Dict inner) => new DictUtf8(inner);

    // Inner - the wrapped table.
    public Dict Inner => inner;

    private string? CheckFold(string key)
    {
        if (!DictText.IsValidUtf8(key))
            return null;
        var fold = Flags & DictFlags.FoldAny;
        if (fold != 0 && (fold & ((Flags & DictFlags.Fixed) != 0 ? DictFlags.FoldFix : DictFlags.FoldMul)) != 0)
            return DictText.FoldUtf8(key);
        return key;
    }

    private byte[] keyBuf = new byte[256];

    public override bool CanLookupBytes => inner.CanLookupBytes;

    // LookupBytes - the byte path for ASCII keys (always valid UTF-8, and
    // their case folding is ASCII lowercase); other keys take Lookup().
    public override bool LookupBytes(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        if (!DictText.IsAllAscii(key))
            return base.LookupBytes(key, out value);
        if (keyBuf.Length < key.Length)
            keyBuf = new byte[Math.Max(key.Length, keyBuf.Length * 2)];
        var k = keyBuf.AsSpan(0, key.Length);
        key.CopyTo(k);
        var fold = Flags & DictFlags.FoldAny;
        if (fold != 0 && (fold & ((Flags & DictFlags.Fixed) != 0 ? DictFlags.FoldFix : DictFlags.FoldMul)) != 0)
            DictText.FoldAscii(k);
        var saved = inner.Flags & DictFlags.FoldAny;
        inner.Flags &= ~DictFlags.FoldAny;
        var found = inner.LookupBytes(k, out value);
        inner.Flags |= saved;
        SetError(inner.Error, inner.ErrorText);
        if (found && !DictText.IsValidUtf8(value))
        {
            Msg.Warn($"{Type}:{Name}: key \"{DictText.Show(DictText.Decode(key))}\": non-UTF-8 value \"{DictText.Show(DictText.Decode(value))}\": malformed UTF-8 or invalid codepoint");
            SetError(DictError.Config);
            value = default;
            return false;
        }
        return found;
    }

    public override string? Lookup(string key)
    {
        var k = CheckFold(key);
        if (k == null)
        {
            Msg.Warn($"{Type}:{Name}: non-UTF-8 key \"{DictText.Show(key)}\": malformed UTF-8 or invalid codepoint");
            SetError(DictError.None);
            return null;
        }
        var saved = inner.Flags & DictFlags.FoldAny;
        inner.Flags &= ~DictFlags.FoldAny;
        var v = inner.Lookup(k);
        inner.Flags |= saved;
        SetError(inner.Error, inner.ErrorText);
        if (v != null && !DictText.IsValidUtf8(v))
        {
            Msg.Warn($"{Type}:{Name}: key \"{DictText.Show(key)}\": non-UTF-8 value \"{DictText.Show(v)}\": malformed UTF-8 or invalid codepoint");
            SetError(DictError.Config);
            return null;
        }
        return v;
    }

    public override DictStatus Update(string key, string value)
    {
        var k = CheckFold(key);
        if (k == null)
        {
            Msg.Warn($"{Type}:{Name}: non-UTF-8 key \"{DictText.Show(key)}\": malformed UTF-8 or invalid codepoint");
            SetError(DictError.None);
            return DictStatus.Success;
        }
        if (!DictText.IsValidUtf8(value))
        {
            Msg.Warn($"{Type}:{Name}: key \"{DictText.Show(key)}\": non-UTF-8 value \"{DictText.Show(value)}\": malformed UTF-8 or invalid codepoint");
            SetError(DictError.None);
            return DictStatus.Success;
        }
        var saved = inner.Flags & DictFlags.FoldAny;
        inner.Flags &= ~DictFlags.FoldAny;
        var s = inner.Update(k, value);
        inner.Flags |= saved;
        SetError(inner.Error, inner.ErrorText);
        return s;
    }

    public override DictStatus Delete(string key)
    {
        var k = CheckFold(key);
        if (k == null)
        {
            Msg.Warn($"{Type}:{Name}: non-UTF-8 key \"{DictText.Show(key)}\": malformed UTF-8 or invalid codepoint");
            SetError(DictError.None);
            return DictStatus.Fail;
        }
        var saved = inner.Flags & DictFlags.FoldAny;
        inner.Flags &= ~DictFlags.FoldAny;
        var s = inner.Delete(k);
        inner.Flags |= saved;
        SetError(inner.Error, inner.ErrorText);
        return s;
    }

    public override DictStatus Sequence(DictSeq function, out string key, out string value)
    {
        var s = inner.Sequence(function, out key, out value);
        SetError(inner.Error, inner.ErrorText);
        return s;
    }

    public override int Lock(int operation) => inner.Lock(operation);

    public override bool Changed() => inner.Changed();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}
