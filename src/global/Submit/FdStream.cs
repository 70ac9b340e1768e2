// NAME
//	FdStream - a Stream over a raw descriptor (pipe, socket, file)
// DESCRIPTION
//	Read and write with read(2)/write(2), retrying on EINTR, so that
//	errors keep their errno (LastErrno) for the "%m" of Postfix's
//	messages. Not seekable. Dispose closes the descriptor when owned.
using System;
using System.IO;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Global.Submit;

public sealed class FdStream : Stream
{
    private readonly bool owned;
    private int fd;

    public FdStream(int fd, bool owned)
    {
        this.fd = fd;
        this.owned = owned;
    }

    public int Fd => fd;

    // LastErrno - errno of the last failed read or write.
    public int LastErrno { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        for (;;)
        {
            var n = Sys.Read(fd, buffer);
            if (n >= 0)
                return (int)n;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Sys.EINTR)
                continue;
            LastErrno = errno;
            throw new IOException(Sys.StrError(errno), errno);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!Sys.WriteAll(fd, buffer))
        {
            LastErrno = Marshal.GetLastPInvokeError();
            throw new IOException(Sys.StrError(LastErrno), LastErrno);
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (owned && fd >= 0)
            Sys.Close(fd);
        fd = -1;
        base.Dispose(disposing);
    }
}
