// NAME
//	MapTests - canonical, virtual alias and BCC tables
using System.Linq;
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Cleanup.Tests;

public class MapTests
{
    private static Maps Inline(string title, string text) =>
        Maps.Create(title, "inline:{" + text + "}", DictFlags.Lock | DictFlags.FoldFix);

    private static Harness Run(AddressMaps maps, params string[] rcpts)
    {
        var cfg = new CleanupConfig { MessageLimit = 0, AddressMaps = maps };
        return new Harness(cfg).Envelope("alice", rcpts).Lines("Received: 1", "From: alice", "To: bob, carol", "", "b").End();
    }

    private static AddressMaps Maps0() => new()
    {
        CommCanonFlags = AddressMaps.EnvFrom | AddressMaps.EnvRcpt | AddressMaps.HdrFrom | AddressMaps.HdrRcpt,
        SendCanonFlags = AddressMaps.EnvFrom | AddressMaps.HdrFrom,
        RcptCanonFlags = AddressMaps.EnvRcpt | AddressMaps.HdrRcpt,
    };

    [Fact]
    public void CanonicalMapsEnvelopeAndHeaders()
    {
        var m = Maps0();
        m.CommCanon = Inline("canonical_maps", "alice@example.com=ally@example.net, carol@example.com=@example.org");
        var h = Run(m, "bob", "carol");
        var recs = h.Records();
        recs.ShouldContain(('S', "ally@example.net"));
        recs.ShouldContain(('R', "carol@example.org"));
        var c = h.Content();
        c.ShouldContain("From: ally@example.net");
        c.ShouldContain("To: bob@example.com, carol@example.org");
    }

    [Fact]
    public void VirtualAliasExpands()
    {
        var m = Maps0();
        m.VirtAlias = Inline("virtual_alias_maps", "{bob@example.com = b1@example.net, b2@example.net}");
        var recs = Run(m, "bob").Records();
        recs.Where(r => r.Type == 'R').Select(r => r.Text).ShouldBe(["b1@example.net", "b2@example.net"]);
        recs.Where(r => r.Type == 'O').Select(r => r.Text).ShouldBe(["bob", "bob"]);
    }

    [Fact]
    public void NoMappingWithoutMapOk()
    {
        var m = Maps0();
        m.CommCanon = Inline("canonical_maps", "alice@example.com=ally@example.net");
        var cfg = new CleanupConfig { MessageLimit = 0, AddressMaps = m };
        var h = new Harness(cfg, CleanupFlags.Filter).Envelope("alice").Lines("Received: 1", "", "b").End();
        h.Records().ShouldContain(('S', "alice@example.com"));
    }

    [Fact]
    public void RecipientBcc()
    {
        var m = Maps0();
        m.RcptBcc = Inline("recipient_bcc_maps", "bob@example.com=watch@example.net");
        var recs = Run(m, "bob").Records();
        recs.ShouldContain(('R', "watch@example.net"));
    }
}

public class MasqueradeTests
{
    [Fact]
    public void StripsSubdomainsExceptExcluded()
    {
        var m = new AddressMaps
        {
            MasqDomains = ["!keep.example.com", "example.com"],
            MasqFlags = AddressMaps.EnvFrom | AddressMaps.EnvRcpt | AddressMaps.HdrFrom | AddressMaps.HdrRcpt,
        };
        m.MasqExceptions.Add("root");
        var cfg = new CleanupConfig { MessageLimit = 0, AddressMaps = m };
        var h = new Harness(cfg).Envelope("u@host.example.com", "v@a.keep.example.com", "root@x.example.com")
            .Lines("Received: 1", "To: w@deep.sub.example.com", "", "b").End();
        var recs = h.Records();
        recs.ShouldContain(('S', "u@example.com"));
        recs.ShouldContain(('R', "v@a.keep.example.com"));
        recs.ShouldContain(('R', "root@x.example.com"));
        h.Content().ShouldContain("To: w@example.com");
    }
}
