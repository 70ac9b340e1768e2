// NAME
//	SmtpMimeTests - 8-bit to 7-bit conversion and MIME structure
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Smtp.Tests;

public sealed class SmtpMimeTests
{
    // Run - the lines sent for the given content lines (Latin-1 strings).
    private static List<string> Run(SmtpMime.Options options, params string[] lines)
    {
        var output = new List<string>();
        var mime = new SmtpMime(options, 102400, 2048, 100,
            (cls, isMime, header) => output.AddRange(header.ToString().Split('\n')),
            (type, text) => output.Add(text));
        foreach (var line in lines)
            mime.Update(RecordType.Norm, line);
        mime.Update(RecordType.Xtra, "");
        return output;
    }

    [Fact]
    public void EightBitLeafBecomesQuotedPrintable()
    {
        var output = Run(SmtpMime.Options.Downgrade, "Subject: x", "Content-Transfer-Encoding: 8bit", "",
            "caf\u00e9 = tax ", "plain");
        output.ShouldBe(new[]
        {
            "Subject: x", "Content-Transfer-Encoding: quoted-printable", "", "caf=E9 =3D tax=20", "plain",
        });
    }

    [Fact]
    public void LongLinesGetSoftBreaks()
    {
        var output = Run(SmtpMime.Options.Downgrade, "Content-Transfer-Encoding: binary", "", new string('e', 100));
        output[2].ShouldBe(new string('e', 73) + "=");
        output[3].ShouldBe(new string('e', 27));
    }

    [Fact]
    public void MultipartGetsSevenBitAndPartsAreConverted()
    {
        var output = Run(SmtpMime.Options.Downgrade, "Content-Type: multipart/mixed; boundary=\"b\"",
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
        var output = Run(SmtpMime.Options.None, "Content-Transfer-Encoding: 8bit", "", "caf\u00e9");
        output.ShouldBe(new[] { "Content-Transfer-Encoding: 8bit", "", "caf\u00e9" });
    }

    [Fact]
    public void FoldedHeadersAreJoined()
    {
        var headers = new List<(int, bool, string)>();
        var mime = new SmtpMime(SmtpMime.Options.None, 102400, 2048, 100,
            (cls, isMime, header) => headers.Add((cls, isMime, header.ToString())), (t, s) => { });
        foreach (var line in new[] { "Content-Type: multipart/mixed;", "\tboundary=zz", "", "--zz", "Content-ID: 1", "" })
            mime.Update(RecordType.Norm, line);
        mime.Update(RecordType.Xtra, "");
        headers.ShouldBe(new[]
        {
            (SmtpMime.HdrPrimary, true, "Content-Type: multipart/mixed;\n\tboundary=zz"),
            (SmtpMime.HdrMultipart, true, "Content-ID: 1"),
        });
    }
}
