// NAME
//	RecordFlags - what a record reader does with pointer, padding and end records
// POSTFIX
//	src/global/record.h (REC_FLAG_*)
// DESCRIPTION
//	Default: follow pointer records, skip padding, and treat the end
//	record as the end of the file (the heap of appended records after
//	it is reached only through pointers). None: every record as stored.
using System;

namespace Postfix.Global.Queue;

[Flags]
public enum RecordFlags
{
    None = 0,
    FollowPtr = 1,
    SkipDtxt = 2,
    SeekEnd = 4,
    Default = FollowPtr | SkipDtxt | SeekEnd,
}
