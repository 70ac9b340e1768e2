// NAME
//	SmtpGenericTests - smtp_generic_maps rewriting, the EHLO discard
//	mask and the Delivered-To: loop check
using System.IO;
using Postfix.Global.Address;
using Postfix.Global.Dict;
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Smtp.Tests;

public sealed class SmtpGenericTests
{
    private static SmtpGeneric Generic(string table, bool propagate = false) =>
        new(Maps.Create("smtp_generic_maps", table, DictFlags.Lock | DictFlags.FoldFix),
            propagate, new AccessFindOptions { RecipientDelimiter = "+" })
        {
            Canonicalize = a => a.Contains('@') ? a : a + "@origin.example",
        };

    [Fact]
    public void EnvelopeAddressesAreMappedAndQualified()
    {
        var g = Generic("inline:{ user@local.example=user@public.example, short=bare, @inside.example=@outside.example }");
        g.RewriteInternal("user@local.example").ShouldBe("user@public.example");
        g.RewriteInternal("short").ShouldBe("bare@origin.example");
        g.RewriteInternal("joe@inside.example").ShouldBe("joe@outside.example");
        g.RewriteInternal("other@else.example").ShouldBe("other@else.example");
        g.RewriteInternal("").ShouldBe("");
    }

    [Fact]
    public void UnmatchedExtensionComesBackOnlyWithPropagation()
    {
        Generic("inline:{ a@x.example=b@y.example }").RewriteInternal("a+ext@x.example").ShouldBe("b@y.example");
        Generic("inline:{ a@x.example=b@y.example }", propagate: true).RewriteInternal("a+ext@x.example")
            .ShouldBe("b+ext@y.example");
    }

    [Fact]
    public void HeaderAddressesAreRewrittenKeepingPhrases()
    {
        var g = Generic("inline:{ a@x.example=new@y.example }");
        g.RewriteHeader("To: Someone <a@x.example>, other@z.example").ShouldBe("To: Someone <new@y.example>, other@z.example");
        g.RewriteHeader("To: other@z.example").ShouldBeNull();
        g.RewriteHeader("X-Not-Address: a@x.example").ShouldBeNull();
    }

    [Fact]
    public void LongRewrittenHeadersAreFoldedWithTabs()
    {
        var g = Generic("inline:{ a@x.example=a-much-longer-address-than-before@y.example }");
        var result = g.RewriteHeader("Cc: a@x.example, second-rather-long-address@z.example, third-long-address@z.example")!;
        var lines = result.Split('\n');
        lines.Length.ShouldBe(2);
        lines[0].ShouldBe("Cc: a-much-longer-address-than-before@y.example,");
        lines[1].ShouldBe("\tsecond-rather-long-address@z.example, third-long-address@z.example");
    }

    [Fact]
    public void EhloMaskKnowsTheReferenceKeywords()
    {
        var mask = SmtpProto.EhloMask("pipelining, DSN bogus smtputf8");
        SmtpProto.EhloMaskString(mask).ShouldBe("PIPELINING DSN EHLO_MASK_SMTPUTF8");
        SmtpProto.EhloMask("nothing known").ShouldBe(0);
    }

    [Fact]
    public void DeliveredToLoopIsFoundInPrimaryHeadersOnly()
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        var offset = ms.Position;
        w.Put(RecordType.Norm, "Delivered-To: Loop@Example.COM");
        w.Put(RecordType.Norm, "Subject: x");
        w.Put(RecordType.Norm, "");
        w.Put(RecordType.Norm, "Delivered-To: body@example.com");
        w.Put(RecordType.Xtra, "");
        var bytes = ms.ToArray();
        SmtpDelivered.Contains(bytes, offset, "Q", "loop@example.com").ShouldBeTrue();
        SmtpDelivered.Contains(bytes, offset, "Q", "body@example.com").ShouldBeFalse();
        SmtpDelivered.Contains(bytes, offset, "Q", "other@example.com").ShouldBeFalse();
    }
}
