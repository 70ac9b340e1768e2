// NAME
//	DeliverCompleted - mark a recipient done in the queue file
// POSTFIX
//	src/global/deliver_completed.c
// DESCRIPTION
//	Mark(file, offset) overwrites the type byte of the recipient record
//	at offset with REC_TYPE_DONE and flushes; offset -1 means "nothing
//	to mark". A write error is fatal ("update queue file PATH: ..."),
//	so that the mail is tried again rather than delivered twice.
using System;
using System.IO;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class DeliverCompleted
{
    public static void Mark(FileStream file, long offset)
    {
        if (offset == -1)
            return;
        if (offset <= 0)
            Msg.Panic($"deliver_completed: bad offset {offset}");
        try
        {
            file.Seek(offset, SeekOrigin.Begin);
            file.WriteByte((byte)RecordType.Done);
            file.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Msg.Fatal($"update queue file {file.Name}: {Sys.StrError(Sys.ErrnoOf(e))}");
        }
    }
}
