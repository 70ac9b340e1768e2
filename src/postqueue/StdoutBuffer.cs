// NAME
//	StdoutBuffer - VSTREAM_OUT as postqueue uses it
// DESCRIPTION
//	Text collects in memory and reaches descriptor 1 only on Flush(),
//	as with Postfix's VSTREAM_OUT: what is not flushed when a fatal
//	error ends the program is lost, as it is in the reference.
using System;
using System.Text;
using Postfix.Util;

namespace Postfix.Commands.Postqueue;

internal sealed class StdoutBuffer
{
    private readonly StringBuilder text = new(4096);
    private readonly System.IO.Stream? sink;

    // StdoutBuffer - sink: where Flush() writes (null: descriptor 1).
    public StdoutBuffer(System.IO.Stream? sink = null) => this.sink = sink;

    public void Write(string s) => text.Append(s);

    public void Write(char c) => text.Append(c);

    // Flush - write what is buffered; 0, or the errno of the failed write.
    public int Flush()
    {
        if (text.Length == 0)
            return 0;
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        text.Clear();
        if (sink != null)
        {
            sink.Write(bytes);
            return 0;
        }
        return Sys.WriteAll(1, bytes) ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
    }
}
