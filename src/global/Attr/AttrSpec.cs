// NAME
//	AttrSpec - one entry of a receive wish list
// POSTFIX
//	src/util/attr.h (RECV_ATTR_*)
// DESCRIPTION
//	A receive list is an array of specs, the C varargs list made data:
//	keep one static array per message shape. Func(n) groups the next n
//	specs as one custom conversion (ATTR_TYPE_FUNC: the group counts as
//	one conversion, as the C custom scanner's result does).
using System;

namespace Postfix.Global.Attr;

public readonly record struct AttrSpec(AttrType Type, string Name, string? Expect = null, int GroupLength = 0)
{
    public static AttrSpec Int(string name) => new(AttrType.Int, name);

    public static AttrSpec Long(string name) => new(AttrType.Long, name);

    public static AttrSpec Str(string name) => new(AttrType.Str, name);

    public static AttrSpec Data(string name) => new(AttrType.Data, name);

    // StrEq - the attribute must be present with this value (no conversion).
    public static AttrSpec StrEq(string name, string value) => new(AttrType.StrEq, name, value);

    // Hash - any attributes up to the list end, or one "{" ... "}" group.
    public static AttrSpec Hash() => new(AttrType.Hash, "");

    // Func - the next groupLength specs form one custom conversion.
    public static AttrSpec Func(int groupLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(groupLength);
        return new(AttrType.Func, "", null, groupLength);
    }
}
