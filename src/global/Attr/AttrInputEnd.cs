// NAME
//	AttrInputEnd - whether more input may follow the bytes at hand
// DESCRIPTION
//	More: the scan stops before an incomplete attribute and asks for
//	more. Eof and Timeout: the stream is done; an incomplete attribute
//	is reported as Postfix does ("premature end-of-input on ...",
//	"timeout on ...").
namespace Postfix.Global.Attr;

public enum AttrInputEnd
{
    More,
    Eof,
    Timeout,
}
