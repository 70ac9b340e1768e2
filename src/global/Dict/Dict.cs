// NAME
//	Dict - the generic lookup table (dictionary) interface
// POSTFIX
//	src/util/dict.h, src/util/dict.c
// DESCRIPTION
//	Every table type derives from Dict: lookup, update, delete,
//	sequence (first/next), lock and close, with the flags and error
//	codes of Postfix's DICT. Keys and values are strings that carry the
//	bytes of the table (DictText.Decode: valid UTF-8 as UTF-8, other
//	bytes >= 0x80 as U+DC80..U+DCFF; DictText.Encode gives the bytes
//	back), so nothing is lost on the way through.
//	Lookup returns null for "not found"; then Error says whether that was
//	a real miss (DictError.None) or a failure (Retry/Config).
using System;

namespace Postfix.Global.Dict;

[Flags]
public enum DictFlags
{
    None = 0,
    DupWarn = 1 << 0,        // warn about duplicates
    DupIgnore = 1 << 1,      // ignore duplicates
    Try0Null = 1 << 2,       // keys/values without a trailing NUL
    Try1Null = 1 << 3,       // keys/values with a trailing NUL
    Fixed = 1 << 4,          // fixed-key map
    Pattern = 1 << 5,        // keys are patterns
    Lock = 1 << 6,           // lock around each access
    DupReplace = 1 << 7,     // replace duplicates
    SyncUpdate = 1 << 8,     // sync after update
    Debug = 1 << 9,          // log accesses
    NoRegsub = 1 << 11,      // no $number substitution
    NoProxy = 1 << 12,       // no proxy: mapping
    NoUnauth = 1 << 13,      // no unauthenticated data
    FoldFix = 1 << 14,       // fold key case (fixed-string maps)
    FoldMul = 1 << 15,       // fold key case (pattern maps)
    FoldAny = FoldFix | FoldMul,
    OpenLock = 1 << 16,      // exclusive lock while open (not multi-writer safe)
    BulkUpdate = 1 << 17,    // optimize for bulk updates (postmap create)
    MultiWriter = 1 << 18,   // multi-writer safe
    Utf8Request = 1 << 19,   // UTF-8 checks wanted
    Utf8Active = 1 << 20,    // UTF-8 layer present
    SrcRhsIsFile = 1 << 21,  // postmap -F: values name files (base64)
}

// DictError - dict->error: why a lookup returned null.
public enum DictError
{
    None = 0,
    Retry = -1,              // soft error: try again later
    Config = -2,             // configuration error
}

// DictStatus - result of update/delete/sequence.
public enum DictStatus
{
    Success = 0,
    Fail = 1,                // not found, or conflict
    Error = -1,              // database error
}

// DictSeq - sequence function.
public enum DictSeq
{
    First = 0,
    Next = 1,
}

// DictOpenFlags - O_RDONLY / O_RDWR | O_CREAT | O_TRUNC as open(2) has them.
[Flags]
public enum DictOpenFlags
{
    ReadOnly = 0,
    ReadWrite = 2,
    Create = 0x40,
    Truncate = 0x200,
}

public abstract class Dict : IDisposable
{
    protected Dict(string type, string name, DictOpenFlags openFlags, DictFlags flags)
    {
        Type = type;
        Name = name;
        OpenFlags = openFlags;
        Flags = flags;
    }

    public string Type { get; }

    public string Name { get; }

    public DictOpenFlags OpenFlags { get; }

    public DictFlags Flags { get; set; }

    // Error - the result of the last operation (dict->error).
    public DictError Error { get; protected set; }

    // ErrorText - what %m says after a failed operation ("Application
    // error" for fail:, a strerror text for I/O problems); null if unknown.
    public string? ErrorText { get; protected set; }

    // SetError - record an error result (for wrappers such as unionmap).
    public void SetError(DictError error, string? text = null)
    {
        Error = error;
        ErrorText = text;
    }

    // Owner - trusted (root-owned, 0) or not (the uid), for $number and
    // command safety checks (dict->owner).
    public long OwnerUid { get; protected set; }

    // Full name as "type:name" for messages.
    public string FullName => Type + ":" + Name;

    // Lookup - value, or null when not found or on error (see Error).
    public abstract string? Lookup(string key);

    // CanLookupBytes - the table has a byte-level lookup (LookupBytes).
    public virtual bool CanLookupBytes => false;

    // LookupBytes - the same lookup on raw key bytes; the value (up to its
    // first NUL) stays valid until the next call. Only when CanLookupBytes.
    public virtual bool LookupBytes(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var v = Lookup(DictText.Decode(key));
        value = v == null ? default : DictText.Encode(v);
        return v != null;
    }

    public virtual DictStatus Update(string key, string value)
    {
        Postfix.Util.Msg.Fatal($"table {FullName}: update operation is not supported");
        return DictStatus.Error;
    }

    public virtual DictStatus Delete(string key)
    {
        Postfix.Util.Msg.Fatal($"table {FullName}: delete operation is not supported");
        return DictStatus.Error;
    }

    public virtual DictStatus Sequence(DictSeq function, out string key, out string value)
    {
        Postfix.Util.Msg.Fatal($"table {FullName}: sequence operation is not supported");
        key = value = "";
        return DictStatus.Error;
    }

    // Lock - take (exclusive/shared) or release the table lock.
    public virtual int Lock(int operation) => 0;

    // The file behind an indexed table, as it was when opened.
    private string? trackedPath;
    private Postfix.Util.Sys.FileStat trackedStat;

    // TrackFile - remember the table file's identity (dict->stat_fd, mtime).
    protected void TrackFile(string path)
    {
        if (Postfix.Util.Sys.Stat(path, out var st))
        {
            trackedPath = path;
            trackedStat = st;
        }
    }

    // Changed - true when the file behind the table changed since open, so
    // that a daemon restarts with the new table (dict_changed_name()): the
    // file was replaced or removed, or, for a table that is not safe for
    // concurrent writers, modified in place.
    public virtual bool Changed()
    {
        if (trackedPath == null)
            return false;
        if (!Postfix.Util.Sys.Stat(trackedPath, out var now))
            return true;
        if (now.Device != trackedStat.Device || now.Inode != trackedStat.Inode)
            return true;
        return (Flags & DictFlags.MultiWriter) == 0 && now.MTime != trackedStat.MTime;
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    // IsClosed - Dispose() has run.
    public bool IsClosed { get; private set; }

    public void Dispose()
    {
        IsClosed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
