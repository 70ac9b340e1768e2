// NAME
//	AttrFlags - attribute list processing flags
// POSTFIX
//	src/util/attr.h
// DESCRIPTION
//	The ATTR_FLAG_* bits with their numeric values, so that flags can be
//	logged or compared with the C code.
using System;

namespace Postfix.Global.Attr;

[Flags]
public enum AttrFlags
{
    None = 0,

    // Missing - warn when the input ends before a wanted attribute.
    Missing = 1 << 0,

    // Extra - warn about (and stop at) an attribute that is not wanted.
    Extra = 1 << 1,

    // More - do not write or expect the list terminator.
    More = 1 << 2,

    // Printable - replace non-printable bytes of received strings by '?'.
    Printable = 1 << 3,

    Strict = Missing | Extra,
}
