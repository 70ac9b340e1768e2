// NAME
//	DuplexStream - stdin and stdout as one client stream (-S mode)
// DESCRIPTION
//	Stand-alone daemons read the client from standard input and answer
//	on standard output, as the reference's servers do with -S.
using System;
using System.IO;

namespace Postfix.Server;

internal sealed class DuplexStream : Stream
{
    private readonly Stream input;
    private readonly Stream output;

    public DuplexStream(Stream input, Stream output)
    {
        this.input = input;
        this.output = output;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush() => output.Flush();

    public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => input.Read(buffer);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => output.Write(buffer);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            output.Flush();
            input.Dispose();
            output.Dispose();
        }
        base.Dispose(disposing);
    }
}
