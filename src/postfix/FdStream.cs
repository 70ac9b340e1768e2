// NAME
//	FdStream - a write-only stream straight onto a descriptor
// DESCRIPTION
//	write(2) at the descriptor's own offset. A FileStream keeps its own
//	position on a regular file and would overwrite what a child process
//	wrote to the same stdout; .NET's console streams would put a terminal
//	into keypad mode.
using System;
using System.IO;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal sealed class FdStream : Stream
{
    private readonly int fd;

    public FdStream(int fd) => this.fd = fd;

    public override bool CanRead => false;

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

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!Sys.WriteAll(fd, buffer))
            throw new IOException("write error");
    }
}
