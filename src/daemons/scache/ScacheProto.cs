// NAME
//	ScacheProto - request names, attribute names and status codes of
//	the connection cache protocol
// POSTFIX
//	src/global/scache.h, src/global/mail_proto.h
// DESCRIPTION
//	Shared by the scache(8) server and its clients (smtp, lmtp).
namespace Postfix.Daemons.Scache;

public static class ScacheProto
{
    public const string Protocol = "connection_cache_protocol";

    public const string ReqFindEndp = "find_endp";
    public const string ReqSaveEndp = "save_endp";
    public const string ReqFindDest = "find_dest";
    public const string ReqSaveDest = "save_dest";

    public const string AttrReq = "request";
    public const string AttrStatus = "status";
    public const string AttrTtl = "ttl";
    public const string AttrLabel = "label";
    public const string AttrProp = "property";
    public const string AttrDummy = "dummy";

    public const int StatOk = 0;
    public const int StatBad = 1;
    public const int StatFail = 2;
}
