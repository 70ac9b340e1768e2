// NAME
//	QueueIdTests - queue ID forms, validation and hashed queue paths
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

public sealed class QueueIdTests
{
    [Fact]
    public void ShortIdIsHexMicrosecondsThenHexInode()
    {
        QueueId.Short(0xE5AF8, 0xB22185).ShouldBe("E5AF8B22185");
        QueueId.Short(5, 0x10).ShouldBe("0000510");
        QueueId.TryGetInode("E5AF8B22185", out var inode).ShouldBeTrue();
        inode.ShouldBe(0xB22185UL);
        QueueId.IsLong("E5AF8B22185").ShouldBeFalse();
    }

    [Fact]
    public void LongIdUsesTheVowelFreeAlphabets()
    {
        var id = QueueId.Long(1700000000, 123456, 11674117);
        id.ShouldBe(QueueId.SafeEncode(1700000000, 52, 6) + QueueId.SafeEncode(123456, 52, 4) + "z" + QueueId.SafeEncode(11674117, 51, 0));
        id.ShouldNotContain("a");
        QueueId.IsLong(id).ShouldBeTrue();
        QueueId.TryGetInode(id, out var inode).ShouldBeTrue();
        inode.ShouldBe(11674117UL);
        QueueId.SafeEncode(0, 52, 4).ShouldBe("0000");
        QueueId.SafeEncode(51, 52, 0).ShouldBe("z");
        QueueId.SafeEncode(52, 52, 0).ShouldBe("10");
        QueueId.SafeDecode("10", 52, out var v).ShouldBeTrue();
        v.ShouldBe(52UL);
        QueueId.SafeDecode("1a", 52, out _).ShouldBeFalse();
    }

    [Fact]
    public void LongIdHashesOnItsHexMicroseconds()
    {
        var id = QueueId.Long(1700000000, 0xABCDE, 42);
        QueueId.HashKey(id).ShouldBe("ABCDE");
        QueueId.HashKey("E5AF8B22185").ShouldBe("E5AF8B22185");
    }

    [Theory]
    [InlineData("ABC", true)]
    [InlineData("example_com", true)]
    [InlineData("", false)]
    [InlineData("A.B", false)]
    [InlineData("../x", false)]
    public void ValidationAsMailQueueIdOk(string id, bool want)
    {
        QueueId.IsValid(id).ShouldBe(want);
        QueueId.IsValid(new string('A', 255)).ShouldBeTrue();
        QueueId.IsValid(new string('A', 256)).ShouldBeFalse();
    }

    [Fact]
    public void EnterCreatesAFileNamedAfterTimeAndInode()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("mqtest.").FullName;
        var cwd = System.IO.Directory.GetCurrentDirectory();
        try
        {
            System.IO.Directory.SetCurrentDirectory(dir);
            System.IO.Directory.CreateDirectory("incoming");
            var mq = new MailQueue("deferred, incoming", 1);
            using (var s = mq.Enter("incoming", 0x180, false, _ => 0xB22185, out var id, out var path))
            {
                id.Length.ShouldBe(11);
                id.ShouldEndWith("B22185");
                path.ShouldBe("incoming/" + id[0] + "/" + id);
                s.WriteByte((byte)'T');
            }
            System.IO.Directory.GetFiles("incoming", "*", System.IO.SearchOption.AllDirectories).Length.ShouldBe(1);
            using (var s = mq.Enter("incoming", 0x180, true, _ => 42, out var id, out _))
            {
                QueueId.IsLong(id).ShouldBeTrue();
                QueueId.TryGetInode(id, out var inode).ShouldBeTrue();
                inode.ShouldBe(42UL);
            }
        }
        finally
        {
            System.IO.Directory.SetCurrentDirectory(cwd);
            System.IO.Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void QueuePathsHashOnlyTheListedQueues()
    {
        var mq = new MailQueue();
        mq.Path(MailQueue.Incoming, "E5AF8B22185").ShouldBe("incoming/E5AF8B22185");
        mq.Path(MailQueue.Deferred, "E5AF8B22185").ShouldBe("deferred/E/E5AF8B22185");
        mq.Path("DEFER", "E5AF8B22185").ShouldBe("DEFER/E/E5AF8B22185");
        var deep = new MailQueue("deferred, hold", 2);
        deep.Path(MailQueue.Hold, "E5AF8B22185").ShouldBe("hold/E/5/E5AF8B22185");
        deep.Path(MailQueue.Hold, "A").ShouldBe("hold/A/_/A");
        MailQueue.NameOk("maildrop").ShouldBeTrue();
        MailQueue.NameOk("mail-drop").ShouldBeFalse();
    }
}
