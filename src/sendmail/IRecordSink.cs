// NAME
//	IRecordSink - where sendmail's records go
// DESCRIPTION
//	The postdrop stream in production, a list in tests.
using System;

namespace Postfix.Commands.Sendmail;

internal interface IRecordSink
{
    void Put(int type, ReadOnlySpan<byte> data);
}
