// NAME
//	AnvilProto - request and attribute names of the anvil(8) protocol
// POSTFIX
//	src/global/anvil_clnt.h
// DESCRIPTION
//	The names both sides of private/anvil use. Requests carry
//	"request" and "ident" (SERVICE:ADDRESS); replies carry "status"
//	(0 or -1) and the counters the request asks for.
namespace Postfix.Daemons.Anvil;

public static class AnvilProto
{
    public const string Class = "private";
    public const string Service = "anvil";

    public const string AttrReq = "request";
    public const string AttrIdent = "ident";
    public const string AttrCount = "count";
    public const string AttrRate = "rate";
    public const string AttrMail = "mail";
    public const string AttrRcpt = "rcpt";
    public const string AttrNewTls = "newtls";
    public const string AttrAuth = "auth";
    public const string AttrStatus = "status";

    public const string ReqConnect = "connect";
    public const string ReqDisconnect = "disconnect";
    public const string ReqMail = "message";
    public const string ReqRcpt = "recipient";
    public const string ReqNewTls = "newtls";
    public const string ReqNewTlsStatus = "newtls_status";
    public const string ReqAuth = "auth";
    public const string ReqLookup = "lookup";

    public const int StatOk = 0;
    public const int StatFail = -1;
}
