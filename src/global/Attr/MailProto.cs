// NAME
//	MailProto - names of the internal protocols: services, attributes,
//	requests, trigger codes
// POSTFIX
//	src/global/mail_proto.h, rewrite_clnt.h, resolve_clnt.h
// DESCRIPTION
//	The subset the mail core needs first; add names here, spelled as in
//	mail_proto.h (including its typos: they are on the wire).
namespace Postfix.Global.Attr;

public static class MailProto
{
    // Socket classes: the queue directory subdirectories.
    public const string ClassPublic = "public";
    public const string ClassPrivate = "private";

    // Default service names (var_*_service).
    public const string ServiceRewrite = "rewrite";
    public const string ServicePickup = "pickup";
    public const string ServiceQueue = "qmgr";
    public const string ServiceCleanup = "cleanup";
    public const string ServiceShowq = "showq";
    public const string ServiceFlush = "flush";
    public const string ServiceBounce = "bounce";
    public const string ServiceDefer = "defer";
    public const string ServiceTrace = "trace";
    public const string ServiceVerify = "verify";
    public const string ServiceAnvil = "anvil";
    public const string ServiceScache = "scache";
    public const string ServiceTlsmgr = "tlsmgr";
    public const string ServiceError = "error";
    public const string ServiceRetry = "retry";
    public const string ServiceDiscard = "discard";

    // Trigger requests (one byte each).
    public const byte TriggerReqWakeup = (byte)'W';
    public const byte QmgrReqScanDeferred = (byte)'D';
    public const byte QmgrReqScanIncoming = (byte)'I';
    public const byte QmgrReqFlushDead = (byte)'F';
    public const byte QmgrReqScanAll = (byte)'A';

    // Protocol announcements: servers send "protocol" first.
    public const string AttrProto = "protocol";
    public const string ProtoAnvil = "anvil_protocol";
    public const string ProtoBounce = "delivery_status_protocol";
    public const string ProtoCleanup = "cleanup_protocol";
    public const string ProtoDeliver = "delivery_request_protocol";
    public const string ProtoFlush = "queue_flush_protocol";
    public const string ProtoPostdrop = "postdrop_protocol";
    public const string ProtoProxymap = "proxymap_protocol";
    public const string ProtoScache = "connection_cache_protocol";
    public const string ProtoShowq = "mail_queue_list_protocol";
    public const string ProtoTlsmgr = "tlsmgr_protocol";
    public const string ProtoTlsproxy = "tlsproxy_protocol";
    public const string ProtoTrivial = "trivial_rewrite_protocol";
    public const string ProtoVerify = "address_verification_prrotocol";

    // Attribute names.
    public const string AttrReq = "request";
    public const string AttrNreq = "nrequest";
    public const string AttrStatus = "status";
    public const string AttrFlags = "flags";
    public const string AttrQueue = "queue_name";
    public const string AttrQueueId = "queue_id";
    public const string AttrSender = "sender";
    public const string AttrRecip = "recipient";
    public const string AttrWhy = "reason";
    public const string AttrRule = "rule";
    public const string AttrAddr = "address";
    public const string AttrTransport = "transport";
    public const string AttrNexthop = "nexthop";
    public const string AttrTime = "time";
    public const string AttrSize = "size";
    public const string AttrOffset = "offset";
    public const string AttrOrigRcpt = "original_recipient";
    public const string AttrDsnOrcpt = "dsn_orig_rcpt";
    public const string AttrDsnNotify = "notify_flags";
    public const string AttrRcptCount = "recipient_count";
    public const string AttrOrcpt = "original_recipient";
    public const string AttrVerpDelims = "verp_delimiters";
    public const string AttrSite = "site";
    public const string AttrAddrStatus = "recipient_status";
    public const string AttrEncoding = "encoding";
    public const string AttrSmtpUtf8 = "smtputf8";
    public const string AttrDsnStatus = "status";
    public const string AttrDsnDtype = "diag_type";
    public const string AttrDsnDtext = "diag_text";
    public const string AttrDsnMtype = "mta_type";
    public const string AttrDsnMname = "mta_mname";
    public const string AttrDsnAction = "action";
    public const string AttrDsnEnvid = "envelope_id";
    public const string AttrDsnRet = "ret_flags";
    public const string AttrLogClientName = "log_client_name";
    public const string AttrLogClientAddr = "log_client_address";
    public const string AttrLogClientPort = "log_client_port";
    public const string AttrLogHeloName = "log_helo_name";
    public const string AttrLogProtoName = "log_protocol_name";
    public const string AttrSaslMethod = "sasl_method";
    public const string AttrSaslUsername = "sasl_username";
    public const string AttrSaslSender = "sasl_sender";
    public const string AttrLogIdent = "log_ident";
    public const string AttrRwrContext = "rewrite_context";

    // Rewrite contexts (trivial-rewrite "rule").
    public const string RewriteLocal = "local";
    public const string RewriteRemote = "remote";

    // Requests of trivial-rewrite.
    public const string ReqRewrite = "rewrite";
    public const string ReqResolve = "resolve";
    public const string ReqVerify = "verify";

    // Resolve reply flags (resolve_clnt.h).
    public const int ResolveFlagFinal = 1 << 0;
    public const int ResolveFlagRouted = 1 << 1;
    public const int ResolveFlagError = 1 << 2;
    public const int ResolveFlagFail = 1 << 3;
    public const int ResolveClassLocal = 1 << 8;
    public const int ResolveClassAlias = 1 << 9;
    public const int ResolveClassVirtual = 1 << 10;
    public const int ResolveClassRelay = 1 << 11;
    public const int ResolveClassDefault = 1 << 12;
    // RESOLVE_CLASS_FINAL: the classes delivered on this machine.
    public const int ResolveClassFinal = ResolveClassLocal | ResolveClassAlias | ResolveClassVirtual;
}
