// NAME
//	QueueWalkTests - postsuper's repair walk and per-ID actions on a
//	temporary queue directory
using System;
using System.IO;
using Postfix.Global.Queue;
using Postfix.Util;
using Shouldly;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Postfix.Commands.Postsuper.Tests;

public sealed class QueueWalkTests : IDisposable
{
    private readonly string saved = Directory.GetCurrentDirectory();
    private readonly string dir = Directory.CreateTempSubdirectory("pstest.").FullName;

    public QueueWalkTests()
    {
        foreach (var q in new[] { "maildrop", "incoming", "active", "deferred", "hold", "defer", "bounce", "trace", "flush" })
            Directory.CreateDirectory(Path.Combine(dir, q));
        Directory.SetCurrentDirectory(dir);
        Msg.Err = new StringWriter();
    }

    public void Dispose()
    {
        Directory.SetCurrentDirectory(saved);
        Directory.Delete(dir, true);
    }

    // Ready - a ready queue file named after its own inode (short ID).
    private static string Ready(string queue, string usec = "ABCDE")
    {
        var tmp = queue + "/tmp";
        File.WriteAllText(tmp, "x");
        Sys.Chmod(tmp, 0x1c0);
        Sys.LStat(tmp, out var st).ShouldBeTrue();
        var id = usec + QueueId.FileId(st.Inode, false);
        File.Move(tmp, queue + "/" + id);
        return id;
    }

    [Fact]
    public void StructureCheckMovesFilesToTheirHashDirectory()
    {
        var id = Ready("deferred");
        var ops = new QueueOps(new MailQueue("deferred", 2));
        new QueueWalk(ops, false).Walk(new[] { "deferred" }, Actions.Struct);
        File.Exists($"deferred/A/B/{id}").ShouldBeTrue();
        ops.Count.PositionMismatch.ShouldBe(1);
    }

    [Fact]
    public void NameInodeMismatchGetsFixSuffix()
    {
        var id = Ready("incoming");
        File.Move("incoming/" + id, "incoming/ABCDE1");
        var ops = new QueueOps(new MailQueue());
        var walk = new QueueWalk(ops, false);
        walk.Walk(new[] { "incoming" }, Actions.Struct);
        File.Exists($"incoming/{id}#FIX").ShouldBeTrue();
        walk.Walk(new[] { "incoming" }, Actions.Struct);
        File.Exists($"incoming/{id}").ShouldBeTrue();
        ops.Count.InodeMismatch.ShouldBe(1);
        ops.Count.InodeFixed.ShouldBe(1);
    }

    [Fact]
    public void DeleteOneRemovesLogfilesToo()
    {
        var id = Ready("deferred");
        var q = new MailQueue();
        Directory.CreateDirectory("deferred/A");
        File.Move("deferred/" + id, q.Path("deferred", id));
        Directory.CreateDirectory("defer/A");
        File.WriteAllText(q.Path("defer", id), "log");
        var ops = new QueueOps(q);
        ops.DeleteOne(new[] { "hold", "incoming", "active", "deferred" }, id);
        File.Exists(q.Path("defer", id)).ShouldBeFalse();
        File.Exists(q.Path("deferred", id)).ShouldBeFalse();
        ops.Count.Deleted.ShouldBe(1);
    }

    [Fact]
    public void HoldAndReleaseAll()
    {
        var id = Ready("incoming");
        var ops = new QueueOps(new MailQueue());
        var walk = new QueueWalk(ops, false);
        walk.Walk(new[] { "incoming" }, Actions.HoldAll);
        File.Exists("hold/" + id).ShouldBeTrue();
        walk.Walk(new[] { "hold" }, Actions.ReleaseAll);
        File.Exists("deferred/A/" + id).ShouldBeTrue();
        ops.Count.Held.ShouldBe(1);
        ops.Count.Released.ShouldBe(1);
    }

    [Fact]
    public void GetInodeOfShortAndLongNames()
    {
        QueueWalk.GetInode("ABCDE1F", out var inum, out var isLong).ShouldBeTrue();
        inum.ShouldBe(0x1FUL);
        isLong.ShouldBeFalse();
        QueueWalk.GetInode(QueueId.Long(1700000000, 5, 77), out inum, out isLong).ShouldBeTrue();
        inum.ShouldBe(77UL);
        isLong.ShouldBeTrue();
    }
}
