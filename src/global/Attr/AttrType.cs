// NAME
//	AttrType - attribute types of a receive list
// POSTFIX
//	src/util/attr.h
// DESCRIPTION
//	The ATTR_TYPE_* codes, numbered as in C.
namespace Postfix.Global.Attr;

public enum AttrType
{
    End = 0,
    Int = 1,
    Str = 2,
    Hash = 3,
    Long = 4,
    Data = 5,
    Func = 6,
    StrEq = 7,
}
