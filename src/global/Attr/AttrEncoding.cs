// NAME
//	AttrEncoding - the three wire forms of an attribute list
// POSTFIX
//	src/util/attr_print0.c, attr_print_plain.c, attr_print64.c
// DESCRIPTION
//	Zero: name NUL value NUL ..., an empty name ends the list (the form
//	of every internal service: attr_print is attr_print0).
//	Plain: name=value LF ..., an empty line ends the list.
//	Base64: base64(name):base64(value) LF ..., an empty line ends it.
namespace Postfix.Global.Attr;

public enum AttrEncoding
{
    Zero,
    Plain,
    Base64,
}
