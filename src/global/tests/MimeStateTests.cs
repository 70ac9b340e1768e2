// NAME
//	MimeStateTests - header names, MIME structure, 8-bit to 7-bit conversion
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Mime;
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

public sealed class MimeStateTests
{
    // Run - the lines sent for the given content lines (Latin-1 strings).
    private static List<string> Run(MimeState.Options options, params string[] lines)
    {
        var output = new List<string>();
        var mime = new MimeState(options, null, 102400, 2048, 100,
            (cls, info, header, offset) => output.AddRange(header.ToString().Split('\n')), null,
            (type, text, offset) => output.Add(text.ToString()), null);
        foreach (var line in lines)
            mime.Update(RecordType.Norm, line);
        mime.Update(RecordType.Xtra, "");
        return output;
    }

    [Fact]
    public void EightBitLeafBecomesQuotedPrintable()
    {
        var output = Run(MimeState.Options.Downgrade, "Subject: x", "Content-Transfer-Encoding: 8bit", "",
            "caf\u00e9 = tax ", "plain");
        output.ShouldBe(new[]
        {
            "Subject: x", "Content-Transfer-Encoding: quoted-printable", "", "caf=E9 =3D tax=20", "plain",
        });
    }

    [Fact]
    public void LongLinesGetSoftBreaks()
    {
        var output = Run(MimeState.Options.Downgrade, "Content-Transfer-Encoding: binary", "", new string('e', 100));
        output[2].ShouldBe(new string('e', 73) + "=");
        output[3].ShouldBe(new string('e', 27));
    }

    [Fact]
    public void MultipartGetsSevenBitAndPartsAreConverted()
    {
        var output = Run(MimeState.Options.Downgrade, "Content-Type: multipart/mixed; boundary=\"b\"",
            "Content-Transfer-Encoding: 8bit", "", "pre\u00e9", "--b", "Content-Transfer-Encoding: 8bit", "",
            "\u00e9", "--b", "", "undeclared \u00e9", "--b--");
        output.ShouldBe(new[]
        {
            "Content-Type: multipart/mixed; boundary=\"b\"", "Content-Transfer-Encoding: 7bit", "", "pre\u00e9", "--b",
            "Content-Transfer-Encoding: quoted-printable", "", "=E9", "--b", "", "undeclared \u00e9", "--b--",
        });
    }

    [Fact]
    public void WithoutDowngradeNothingChanges()
    {
        var output = Run(MimeState.Options.None, "Content-Transfer-Encoding: 8bit", "", "caf\u00e9");
        output.ShouldBe(new[] { "Content-Transfer-Encoding: 8bit", "", "caf\u00e9" });
    }

    [Fact]
    public void FoldedHeadersAreJoined()
    {
        var headers = new List<(int, bool, string)>();
        var mime = new MimeState(MimeState.Options.None, null, 102400, 2048, 100,
            (cls, info, header, offset) => headers.Add((cls, (info?.Flags & HeaderFlags.Mime) != 0, header.ToString())),
            null, (t, s, offset) => { }, null);
        foreach (var line in new[] { "Content-Type: multipart/mixed;", "\tboundary=zz", "", "--zz", "Content-ID: 1", "" })
            mime.Update(RecordType.Norm, line);
        mime.Update(RecordType.Xtra, "");
        headers.ShouldBe(new[]
        {
            (MimeState.HdrPrimary, true, "Content-Type: multipart/mixed;\n\tboundary=zz"),
            (MimeState.HdrMultipart, true, "Content-ID: 1"),
        });
    }

    [Theory]
    [InlineData("Subject: x", 7)]
    [InlineData("Subject : x", 7)]
    [InlineData(" Subject: x", 0)]
    [InlineData("No colon", 0)]
    [InlineData("Bad Name: x", 0)]
    public void IsHeader(string text, int len) => HeaderOpts.IsHeader(text.AsSpan()).ShouldBe(len);

    [Fact]
    public void HeaderOptsDropList()
    {
        var opts = new HeaderOpts("bcc, x-private");
        opts.Find("BCC: a")!.Flags.HasFlag(HeaderFlags.Drop).ShouldBeTrue();
        opts.Find("x-Private: a")!.Type.ShouldBe(HeaderType.Other);
        opts.Find("Return-Path: a")!.Flags.HasFlag(HeaderFlags.Drop).ShouldBeFalse();
    }

    [Fact]
    public void MimeClassesAndBodies()
    {
        var events = new List<string>();
        var mime = new MimeState(MimeState.Options.None, new HeaderOpts(), 102400, 2048, 100,
            (cls, info, hdr, off) => events.Add($"H{cls}:{hdr}"),
            () => events.Add("END"),
            (type, text, off) => events.Add($"B:{text}"),
            (err, text) => events.Add($"E{err}"));
        foreach (var line in new[]
        {
            "Content-Type: multipart/mixed;", "\tboundary=\"XX\"", "", "pre", "--XX", "Content-Type: message/rfc822", "",
            "Subject: inner", "", "inner body", "--XX--", "epi",
        })
            mime.Update(RecordType.Norm, line);
        mime.Update(RecordType.Xtra, "");
        events.ShouldBe(new[]
        {
            "H1:Content-Type: multipart/mixed;\n\tboundary=\"XX\"", "END", "B:", "B:pre", "B:--XX",
            "H2:Content-Type: message/rfc822", "B:", "H3:Subject: inner", "B:", "B:inner body", "B:--XX--", "B:epi",
        });
    }

    [Fact]
    public void MimeFoldedAndMissingSeparator()
    {
        var events = new List<string>();
        var mime = new MimeState(MimeState.Options.None, new HeaderOpts(), 102400, 2048, 100,
            (cls, info, hdr, off) => events.Add($"H:{hdr}"), () => events.Add("END"),
            (type, text, off) => events.Add($"B:{text}"), (err, text) => { });
        mime.Update(RecordType.Norm, "Subject: a");
        mime.Update(RecordType.Norm, " b");
        mime.Update(RecordType.Norm, "not a header");
        events.ShouldBe(new[] { "H:Subject: a\n b", "END", "B:", "B:not a header" });
    }

    [Fact]
    public void MessageGlobalIsNestedUnlessDowngraded()
    {
        string[] lines = ["Content-Type: message/global", "Content-Transfer-Encoding: 8bit", "", "Subject: \u00e9", "", "b"];
        var classes = new List<int>();
        foreach (var options in new[] { MimeState.Options.None, MimeState.Options.Downgrade })
        {
            var mime = new MimeState(options, null, 102400, 2048, 100,
                (cls, info, header, offset) => classes.Add(cls), null, (t, s, offset) => { }, null);
            foreach (var line in lines)
                mime.Update(RecordType.Norm, line);
            mime.Update(RecordType.Xtra, "");
        }
        // Not downgraded: both primary headers, then the nested Subject:.
        // Downgraded: the 8bit header is replaced and the rest is body.
        classes.ShouldBe(new[] { 1, 1, 3, 1, 1 });
    }

    [Fact]
    public void LongRecordsAreEncodedAcrossPieces()
    {
        var output = new List<string>();
        var mime = new MimeState(MimeState.Options.Downgrade, null, 102400, 2048, 100,
            (cls, info, header, offset) => output.Add(header.ToString()), null,
            (type, text, offset) => output.Add($"{type}:{text}"), null);
        mime.Update(RecordType.Norm, "Content-Transfer-Encoding: 8bit");
        mime.Update(RecordType.Norm, "");
        mime.Update(RecordType.Cont, new string('a', 70));
        mime.Update(RecordType.Norm, "\u00e9\u00e9 ");
        mime.Update(RecordType.Xtra, "");
        output.ShouldBe(new[]
        {
            "Content-Transfer-Encoding: quoted-printable", $"{RecordType.Norm}:",
            $"{RecordType.Norm}:{new string('a', 70)}=E9=", $"{RecordType.Norm}:=E9=20",
        });
    }

    [Fact]
    public void PassedOnRecordsAreTheInputStrings()
    {
        var input = "body line";
        string? seen = null;
        var mime = new MimeState(MimeState.Options.None, null, 102400, 2048, 100,
            (cls, info, header, offset) => { }, null, (t, s, offset) => seen = MimeState.AsString(s), null);
        mime.Update(RecordType.Norm, "");
        mime.Update(RecordType.Norm, input);
        ReferenceEquals(seen, input).ShouldBeTrue();
    }
}
