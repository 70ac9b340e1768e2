// NAME
//	AccessSearchTests - key search orders of access(5), virtual(5), ...
// DESCRIPTION
//	A recording table answers nothing (or one key) and lists the keys
//	it was asked, so each test states the exact search order.
using System.Collections.Generic;
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class AccessSearchTests
{
    private sealed class Recorder : Dict.Dict
    {
        private readonly Dictionary<string, string> data = new();

        public Recorder(DictFlags flags, params string[] pairs)
            : base("rec", "rec", DictOpenFlags.ReadOnly, flags)
        {
            for (var i = 0; i + 1 < pairs.Length; i += 2)
                data[pairs[i]] = pairs[i + 1];
        }

        public List<string> Asked { get; } = new();

        public DictError FailWith { get; set; }

        public override string? Lookup(string key)
        {
            Asked.Add(key);
            Error = FailWith;
            return FailWith == DictError.None && data.TryGetValue(key, out var v) ? v : null;
        }
    }

    private static readonly AccessFindOptions Plus = new()
    {
        RecipientDelimiter = "+",
        MyOrigin = "example.com",
        ResolveLocal = d => d == "local.test" ? 1 : 0,
    };

    public static TheoryData<string, string, string> MailAccessOrders => new()
    {
        { "user+ext@sub.example.com", "parent", "user+ext@sub.example.com|user@sub.example.com|sub.example.com|example.com|com|user+ext@|user@" },
        { "user+ext@sub.example.com", "dot", "user+ext@sub.example.com|user@sub.example.com|sub.example.com|.example.com|.com|user+ext@|user@" },
        { "user@example.com", "parent", "user@example.com|example.com|com|user@" },
        { "postmaster+x@example.com", "parent", "postmaster+x@example.com|postmaster@example.com|example.com|com|postmaster+x@|postmaster@" },
        { "MAILER-DAEMON@example.com", "parent", "MAILER-DAEMON@example.com|example.com|com|MAILER-DAEMON@" },
        { "a b@example.com", "parent", "\"a b\"@example.com|a b@example.com|example.com|com|\"a b\"@|a b@" },
    };

    [Theory]
    [MemberData(nameof(MailAccessOrders))]
    public void MailAccessOrder(string address, string style, string want)
    {
        var rec = new Recorder(DictFlags.Fixed);
        var maps = new Maps("smtpd_access_maps", new[] { rec });
        AccessSearch.MailAccessFind(maps, address, style == "parent", Plus).ShouldBeNull();
        string.Join("|", rec.Asked).ShouldBe(want);
    }

    public static TheoryData<string, string> VirtualOrders => new()
    {
        { "user+ext@example.com", "user+ext@example.com|user@example.com|user+ext|user|@example.com" },
        { "user+ext@local.test", "user+ext@local.test|user@local.test|user+ext|user|@local.test" },
        { "user+ext@remote.test", "user+ext@remote.test|user@remote.test|@remote.test" },
        { "user@remote.test", "user@remote.test|@remote.test" },
    };

    [Theory]
    [MemberData(nameof(VirtualOrders))]
    public void VirtualOrder(string address, string want)
    {
        var rec = new Recorder(DictFlags.Fixed);
        var maps = new Maps("virtual_alias_maps", new[] { rec });
        AccessSearch.MailAddrFind(maps, address, out _, Plus).ShouldBeNull();
        string.Join("|", rec.Asked).ShouldBe(want);
    }

    [Theory]
    [InlineData("owner-list@x", "owner-list@x|@x")]
    [InlineData("list-request@x", "list-request@x|@x")]
    [InlineData("list-foo@x", "list-foo@x|list@x|@x")]
    public void OwnerRequestAddressesKeepTheirDash(string address, string want)
    {
        var rec = new Recorder(DictFlags.Fixed);
        var maps = new Maps("virtual_alias_maps", new[] { rec });
        AccessSearch.MailAddrFind(maps, address, out _, new AccessFindOptions { RecipientDelimiter = "-" }).ShouldBeNull();
        string.Join("|", rec.Asked).ShouldBe(want);
    }

    [Fact]
    public void PatternTablesGetOnlyTheFullAddress()
    {
        var rec = new Recorder(DictFlags.Pattern);
        var maps = new Maps("virtual_alias_maps", new[] { rec });
        AccessSearch.MailAddrFind(maps, "user+ext@example.com", out _, Plus).ShouldBeNull();
        string.Join("|", rec.Asked).ShouldBe("user+ext@example.com");
    }

    [Fact]
    public void UnmatchedExtensionIsReturned()
    {
        var rec = new Recorder(DictFlags.Fixed, "user@example.com", "other@example.net");
        var maps = new Maps("virtual_alias_maps", new[] { rec });
        AccessSearch.MailAddrFind(maps, "user+ext@example.com", out var ext, Plus).ShouldBe("other@example.net");
        ext.ShouldBe("+ext");
    }

    [Fact]
    public void AtDomainResultKeepsTheUser()
    {
        var rec = new Recorder(DictFlags.Fixed, "@example.com", "@example.net");
        var maps = new Maps("virtual_alias_maps", new[] { rec });
        AccessSearch.MailAddrMap(maps, "user+ext@example.com", true, out var ext, Plus).ShouldBe("user+ext@example.net");
        ext.ShouldBeNull();
    }

    public static TheoryData<string, bool, string> DomainOrders => new()
    {
        { "a.b.example.com", true, "a.b.example.com|b.example.com|example.com|com" },
        { "a.b.example.com", false, "a.b.example.com|.b.example.com|.example.com|.com" },
        { "1.2.3.4", true, "1.2.3.4" },
        { "example.com.", true, "example.com.|com.|" },
    };

    [Theory]
    [MemberData(nameof(DomainOrders))]
    public void DomainOrder(string domain, bool parentStyle, string want)
    {
        var rec = new Recorder(DictFlags.Fixed);
        var maps = new Maps("smtpd_access_maps", new[] { rec });
        AccessSearch.DomainFind(maps, domain, parentStyle).ShouldBeNull();
        string.Join("|", rec.Asked).ShouldBe(want.TrimEnd('|'));
    }

    public static TheoryData<string, string> AddrOrders => new()
    {
        { "1.2.3.4", "1.2.3.4|1.2.3|1.2|1" },
        { "2001:db8::1", "2001:db8::1|2001:db8:|2001:db8|2001" },
    };

    [Theory]
    [MemberData(nameof(AddrOrders))]
    public void HostAddrOrder(string address, string want)
    {
        var rec = new Recorder(DictFlags.Fixed);
        var maps = new Maps("smtpd_access_maps", new[] { rec });
        AccessSearch.HostAddrFind(maps, address).ShouldBeNull();
        string.Join("|", rec.Asked).ShouldBe(want);
    }

    [Fact]
    public void TableErrorStopsTheSearch()
    {
        var bad = new Recorder(DictFlags.Fixed) { FailWith = DictError.Retry };
        var good = new Recorder(DictFlags.Fixed, "user@example.com", "x");
        var maps = new Maps("smtpd_access_maps", new[] { bad, good });
        var saved = Postfix.Util.Msg.Err;
        try
        {
            var err = new System.IO.StringWriter();
            Postfix.Util.Msg.Err = err;
            AccessSearch.MailAccessFind(maps, "user@example.com", true, Plus).ShouldBeNull();
            maps.Error.ShouldBe(DictError.Retry);
            good.Asked.ShouldBeEmpty();
            err.ToString().ShouldContain("rec:rec lookup error for \"user@example.com\"");
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
        }
    }

    [Fact]
    public void EmptyResultIsAConfigError()
    {
        var rec = new Recorder(DictFlags.Fixed, "k", "");
        var maps = new Maps("virtual_alias_maps", new[] { rec });
        var saved = Postfix.Util.Msg.Err;
        try
        {
            var err = new System.IO.StringWriter();
            Postfix.Util.Msg.Err = err;
            maps.Find("k").ShouldBeNull();
            maps.Error.ShouldBe(DictError.Config);
            err.ToString().ShouldContain("virtual_alias_maps should return NO RESULT in case of NOT FOUND");
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
        }
    }

    public static TheoryData<string, string> Quoting => new()
    {
        { "user@example.com", "user@example.com" },
        { "a b@example.com", "\"a b\"@example.com" },
        { "a\"b@x", "\"a\\\"b\"@x" },
        { ".a@x", "\".a\"@x" },
        { "a..b@x", "\"a..b\"@x" },
        { "@route:a b@x", "@route:\"a b\"@x" },
    };

    [Theory]
    [MemberData(nameof(Quoting))]
    public void QuoteAndUnquoteRoundTrip(string internalForm, string externalForm)
    {
        AccessAddress.Quote(internalForm).ShouldBe(externalForm);
        AccessAddress.Unquote(externalForm).ShouldBe(internalForm);
    }

    [Theory]
    [InlineData("debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps", "smtpd_access_maps", true)]
    [InlineData("debug_peer_list, relay_domains", "smtpd_access_maps", false)]
    [InlineData("Transport_Maps", "transport_maps", true)]
    public void ParentStyleFollowsTheList(string list, string feature, bool want) =>
        AccessSearch.ParentStyle(list, feature).ShouldBe(want);

    public static TheoryData<string, bool> HostAddrs => new()
    {
        { "1.2.3.4", true },
        { "0.0.0.0", true },
        { "0.1.2.3", false },
        { "1.2.3", false },
        { "256.1.1.1", false },
        { "::1", true },
        { "2001:db8::1", true },
        { "::ffff:1.2.3.4", true },
        { "example.com", false },
        { "1:2:3:4:5:6:7:8:9", false },
    };

    [Theory]
    [MemberData(nameof(HostAddrs))]
    public void HostAddressSyntax(string text, bool want) => AccessAddress.IsHostAddr(text).ShouldBe(want);
}
