// NAME
//	FatalException - unwinds a program after Msg.Fatal
// DESCRIPTION
//	Thrown only by Msg; caught by ProgramHost (and by in-process tests,
//	which see the status without the exit or the pause).
using System;

namespace Postfix.Util;

public sealed class FatalException : Exception
{
    public int Status { get; }

    public FatalException(int status, string text) : base(text) => Status = status;

    public FatalException() { }

    public FatalException(string message) : base(message) { }

    public FatalException(string message, Exception inner) : base(message, inner) { }
}
