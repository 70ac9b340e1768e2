// NAME
//	RecordType - queue file record types and their printable names
// POSTFIX
//	src/global/rec_type.h, src/global/rec_type.c
// DESCRIPTION
//	A queue file (and the cleanup/postdrop record stream) is a sequence
//	of typed records: one type byte, a 7-bit length varint, the data.
//	The letters are fixed by the on-disk format. 'L' is both the content
//	filter (envelope) and an unterminated text piece (content); the name
//	table says "content_filter", as Postfix's does.
using System;

namespace Postfix.Global.Queue;

public static class RecordType
{
    // Pseudo types returned by the readers, never stored.
    public const int Eof = -1;
    public const int Error = -2;

    public const int Size = 'C';        // first record, written by cleanup
    public const int Time = 'T';        // arrival time "sec usec"
    public const int CTime = 'c';       // create time (obsolete)
    public const int Full = 'F';        // sender full name
    public const int Insp = 'I';        // content inspector
    public const int Filt = 'L';        // content filter (envelope)
    public const int From = 'S';        // sender
    public const int Done = 'D';        // delivered recipient
    public const int Rcpt = 'R';        // recipient to do
    public const int Orcp = 'O';        // original recipient
    public const int Drcp = '/';        // canceled recipient
    public const int Warn = 'W';        // time of the next delay warning
    public const int Attr = 'A';        // name=value attribute
    public const int Kill = 'K';        // killed record
    public const int Rdr = '>';         // redirect target
    public const int Flgs = 'f';        // cleanup processing flags
    public const int Delay = 'd';       // cleanup delay
    public const int Mesg = 'M';        // start of message content
    public const int Cont = 'L';        // text piece without line end
    public const int Norm = 'N';        // text line
    public const int Dtxt = 'w';        // padding
    public const int Xtra = 'X';        // start of extracted records
    public const int Rrto = 'r';        // return-receipt
    public const int Erto = 'e';        // errors-to
    public const int Prio = 'P';        // priority
    public const int Ptr = 'p';         // pointer to another offset
    public const int Verp = 'V';        // VERP delimiters
    public const int DsnRet = '<';      // DSN RET
    public const int DsnEnvId = 'i';    // DSN ENVID
    public const int DsnOrcpt = 'o';    // DSN ORCPT
    public const int DsnNotify = 'n';   // DSN NOTIFY
    public const int MiltCount = 'm';   // milter count
    public const int End = 'E';         // last record

    // Pure recipient sequences at the end of each envelope segment
    // (the segment terminator included).
    public const string EnvRecipient = "MDRO/Kon";
    public const string ExtRecipient = "EDRO/Kon";

    // The types allowed in each segment; the first letter ends the segment.
    public const string Envelope = "MCTcFILSDRO/WVA>K<ion";
    public const string Content = "XLNw";
    public const string Extract = "EDRO/PreAFIL>Kon";

    // What postdrop accepts from sendmail.
    public const string PostEnvelope = "MFSRVAin";
    public const string PostContent = "XLN";
    public const string PostExtract = "EAR";

    // Fixed-width formats so that records can be rewritten in place.
    public const int SizeFieldWidth = 15;
    public const int SizeFields = 6;
    public const int PtrPayloadSize = 15;
    public const int WarnFieldWidth = 15;

    // Name - rec_type_name(): the printable name, "unknown_record_type" if none.
    public static string Name(int type) => type switch
    {
        Eof => "end-of-file",
        Error => "error",
        Size => "message_size",
        Time => "message_arrival_time",
        CTime => "queue_file_create_time",
        Full => "sender_fullname",
        Insp => "content_inspector",
        Filt => "content_filter",
        From => "sender",
        Done => "done_recipient",
        Drcp => "canceled_recipient",
        Rcpt => "recipient",
        Orcp => "original_recipient",
        Warn => "warning_message_time",
        Attr => "named_attribute",
        Ptr => "pointer_record",
        Kill => "killed_record",
        Mesg => "message_content",
        Norm => "regular_text",
        Dtxt => "padding",
        Xtra => "extracted_info",
        Rrto => "return_receipt",
        Erto => "errors_to",
        Prio => "priority",
        Verp => "verp_delimiters",
        End => "message_end",
        Rdr => "redirect_to",
        Flgs => "flags",
        DsnRet => "dsn_return_flags",
        DsnEnvId => "dsn_envelope_id",
        DsnOrcpt => "dsn_original_recipient",
        DsnNotify => "dsn_notify_flags",
        _ => "unknown_record_type",
    };

    // InSet - strchr(set, type) != 0 as Postfix tests segment membership;
    // like strchr, a NUL byte matches every set (the string terminator).
    public static bool InSet(string set, int type) =>
        type == 0 || (type > 0 && type < 256 && set.Contains((char)type, StringComparison.Ordinal));

    // IsText - a content line record (CONT or NORM).
    public static bool IsText(int type) => type == Cont || type == Norm;
}
