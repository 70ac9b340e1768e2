// NAME
//	AttrValue - one received attribute value
// DESCRIPTION
//	Int and Long values land in Number, Str in Text (Postfix bytes made
//	a string by ByteText), Data in Data.
namespace Postfix.Global.Attr;

public readonly record struct AttrValue(ulong Number, string? Text, byte[]? Data)
{
    public int Int => unchecked((int)(uint)Number);

    public long Long => unchecked((long)Number);

    public string Str => Text ?? "";
}
