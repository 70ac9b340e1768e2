// NAME
//	DeliverFilterTests - the delivery status filter (dsn_filter.c)
// DESCRIPTION
//	A regexp table rewrites "X.Y.Z reason" lookups; a replacement must
//	stay in its class (success vs. non-delivery), else it is ignored
//	with "TITLE: bad status code: RESULT".
using System;
using System.IO;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class DeliverFilterTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("dsn-filter");
    private readonly TextWriter savedErr = Msg.Err;
    private readonly StringWriter err = new();
    private readonly Maps maps;

    public DeliverFilterTests()
    {
        var file = Path.Combine(dir.FullName, "filter");
        File.WriteAllText(file,
            "/^5\\.1\\.1 (.*)/ 4.7.1 retry: $1\n/^2\\.0\\.0 weird/ 5.0.0 never\n/^4\\.4\\.1 (.*)/ 5.4.1 gave up: $1\n/^2\\.0\\.0 ok (.*)/ 2.1.5 fine $1\n");
        maps = Maps.Create("smtp_delivery_status_filter", "regexp:" + file, DictFlags.Lock);
        Msg.Err = err;
    }

    public void Dispose()
    {
        Msg.Err = savedErr;
        dir.Delete(true);
    }

    [Fact]
    public void ReplacesStatusReasonAndAction()
    {
        DsnFilter.Lookup(maps, new Dsn("5.1.1", "failed", "user unknown", "smtp", "550 5.1.1 unknown"))
            .ShouldBe(new Dsn("4.7.1", "delayed", "retry: user unknown", "smtp", "550 5.1.1 unknown"));
        DsnFilter.Lookup(maps, Dsn.Simple("4.4.1", "no route"))
            .ShouldBe(new Dsn("5.4.1", "failed", "gave up: no route"));
        DsnFilter.Lookup(maps, new Dsn("2.0.0", "delivered", "ok queued"))
            .ShouldBe(new Dsn("2.1.5", "delivered", "fine queued"));
    }

    [Fact]
    public void NoMatchAndClassChangesAreIgnored()
    {
        DsnFilter.Lookup(maps, Dsn.Simple("5.2.2", "full")).ShouldBeNull();
        DsnFilter.Lookup(maps, Dsn.Simple("2.0.0", "weird")).ShouldBeNull();
        err.ToString().ShouldContain("warning: smtp_delivery_status_filter: bad status code: 5.0.0 never");
    }
}
