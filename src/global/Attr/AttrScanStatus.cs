// NAME
//	AttrScanStatus - outcome of one AttrReader.Scan call
// DESCRIPTION
//	Done: the result is final (the C attr_scan return value: the number
//	of conversions, or -1). NeedMoreData: nothing past Consumed was
//	used; call again with more input and the reader's State.
namespace Postfix.Global.Attr;

public enum AttrScanStatus
{
    Done,
    NeedMoreData,
}
