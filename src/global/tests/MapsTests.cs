// NAME
//	MapsTests - table lists opened through DictOpen and searched in order
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

// Tests of this assembly swap the static Msg.Err writer (and other
// process-wide settings) to capture warnings; run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class MapsTests
{
    [Fact]
    public void TablesAreSearchedInOrder()
    {
        var maps = Maps.Create("virtual_alias_maps", "inline:{a@x=first}, regexp:{{/^a@/ second}, {/^b@/ third}}", DictFlags.FoldFix);
        maps.Dicts.Count.ShouldBe(2);
        maps.Find("a@x").ShouldBe("first");
        maps.Find("b@x").ShouldBe("third");
        maps.Find("c@x").ShouldBeNull();
        maps.Error.ShouldBe(DictError.None);
    }

    [Fact]
    public void SameTableIsShared()
    {
        var one = Maps.Create("a", "regexp:{{/x/ y}}", DictFlags.None);
        var two = Maps.Create("b", "regexp:{{/x/ y}}", DictFlags.None);
        one.Dicts[0].ShouldBeSameAs(two.Dicts[0]);
    }

    [Fact]
    public void PartialKeysSkipPatternTables()
    {
        var maps = Maps.Create("t", "regexp:{{/./ any}}", DictFlags.None);
        maps.Find("abc", DictFlags.Fixed).ShouldBeNull();
        maps.Find("abc").ShouldBe("any");
    }

    [Fact]
    public void EmptyKeyIsNotLookedUp()
    {
        var maps = Maps.Create("t", "regexp:{{/^$/ empty}}", DictFlags.None);
        maps.Find("").ShouldBeNull();
    }
}
