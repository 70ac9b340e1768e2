// NAME
//	RecordList - an IRecordSink that keeps the records for assertions
using System;
using System.Collections.Generic;
using System.Text;

namespace Postfix.Commands.Sendmail.Tests;

internal sealed class RecordList : IRecordSink
{
    public List<(char Type, string Text)> Records { get; } = new();

    public void Put(int type, ReadOnlySpan<byte> data) => Records.Add(((char)type, Encoding.Latin1.GetString(data)));

    public string Dump() => string.Join("|", Records.ConvertAll(r => r.Type + ":" + r.Text));
}
