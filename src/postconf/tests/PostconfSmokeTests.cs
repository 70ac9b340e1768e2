// NAME
//	PostconfSmokeTests - placeholder replaced as postconf grows
using Shouldly;
using Xunit;

namespace Postfix.Commands.Postconf.Tests;

public sealed class PostconfSmokeTests
{
    [Fact]
    public void CatalogueHasEveryReferenceParameter()
    {
        Postfix.Global.Params.ParamCatalog.ByName.Count.ShouldBeGreaterThan(800);
    }
}
