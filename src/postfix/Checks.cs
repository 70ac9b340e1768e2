// NAME
//	Checks - "postfix check": the fatal and the warning-only part
// POSTFIX
//	conf/postfix-script (check-fatal, check-warn), conf/post-install
// DESCRIPTION
//	CheckFatal() creates missing queue directories, requires master.cf
//	(and a postlog service when maillog_file is set) and lets postsuper
//	fix misplaced queue files; false when the system must not start.
//	CheckWarn() reports ownership and permission problems of the queue,
//	the configuration, daemon, meta and data directories, the set-gid
//	commands, stale copies of system files in the queue directory,
//	damaged messages and a non-Postfix sendmail, one warning per path,
//	in the order and words of the reference check.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class Checks
{
    private static readonly string[] MailOwnerQueues =
    {
        "saved", "incoming", "active", "defer", "deferred", "bounce", "hold", "trace", "corrupt", "public", "private", "flush",
    };

    // CheckFatal - subScript: run the way "check" and "start" run it, as
    // a second control script (whose own start-up queries postconf).
    public static bool CheckFatal(ControlContext ctx, bool subScript = false)
    {
        if (subScript)
            ctx.PostconfRuns();
        if (PostInstall.Run(ctx, ["create-missing"]) != 0)
        {
            ctx.FatalNoExit("unable to create missing queue directories");
            return false;
        }
        var masterCf = ctx.ConfigDirectory + "/master.cf";
        if (!File.Exists(masterCf))
        {
            ctx.FatalNoExit($"no {masterCf} file found");
            return false;
        }
        if (!ctx.PostconfRuns())
        {
            ctx.FatalNoExit($"cannot execute {ctx.CommandDirectory}/postconf!");
            return false;
        }
        if (ctx.Conf.Eval("maillog_file").Length > 0 && !MasterCfHas(masterCf, "postlog", "unix-dgram"))
        {
            ctx.FatalNoExit("missing 'postlog' service in master.cf - run 'postfix upgrade-configuration'");
            return false;
        }
        var postsuper = ctx.CommandDirectory + "/postsuper";
        return ChildProcess.Run(postsuper, ["postsuper"], line: 287) == 0;
    }

    // MasterCfHas - whether master.cf defines service/type (postconf -M).
    public static bool MasterCfHas(string path, string service, string type) => MasterCf.Read(path).Has(service, type);

    public static void CheckWarn(ControlContext ctx, bool subScript = false)
    {
        if (subScript)
            ctx.PostconfRuns();
        var q = ctx.QueueDirectory;
        foreach (var f in Finder.Walk([q + "/.", q + "/pid"], prune: true))
        {
            if (f.Stat.Uid != 0)
                ctx.Warn("not owned by root: " + f.Path);
        }
        foreach (var f in Finder.Walk([q + "/.", q + "/pid"], prune: true))
        {
            if (Finder.GroupOrOtherWritable(f.Stat.Mode))
                ctx.Warn("group or other writable: " + f.Path);
        }

        var todo = new SortedSet<string>(StringComparer.Ordinal) { ctx.ConfigDirectory + "/." };
        if (ctx.CheckSharedFiles)
        {
            todo.Add(ctx.DaemonDirectory + "/.");
            todo.Add(ctx.MetaDirectory + "/.");
            if (ctx.ShlibDirectory != "no")
                todo.Add(ctx.ShlibDirectory + "/.");
        }
        foreach (var f in Finder.Walk(todo))
        {
            if (f.Stat.Uid != 0)
                ctx.Warn("not owned by root: " + f.Path);
        }
        foreach (var f in Finder.Walk(todo, followLinks: true))
        {
            if (Finder.GroupOrOtherWritable(f.Stat.Mode))
                ctx.Warn("group or other writable: " + f.Path);
        }
        foreach (var f in Finder.Walk(todo))
        {
            if (!Finder.IsLink(f.Stat.Mode) || f.Path == "/etc/postfix/./makedefs.out")
                continue;
            var target = new FileInfo(f.Path).LinkTarget;
            if (target != null && target.Contains('/', StringComparison.Ordinal))
                ctx.Warn("symlink leaves directory: " + f.Path);
        }

        var owner = ctx.MailOwner;
        var ownerUid = UserId(owner);
        if (ownerUid != null)
        {
            foreach (var f in Finder.Walk([ctx.DataDirectory + "/."]))
            {
                if (f.Stat.Uid != ownerUid)
                    ctx.Warn($"not owned by {owner}: " + f.Path);
            }
        }
        foreach (var f in Finder.Walk([ctx.DataDirectory + "/."]))
        {
            if (Finder.GroupOrOtherWritable(f.Stat.Mode))
                ctx.Warn("group or other writable: " + f.Path);
        }
        if (ownerUid != null)
        {
            foreach (var f in Finder.Walk(QueueSubdirectories(q)))
            {
                if (!Finder.IsPipeOrSocket(f.Stat.Mode) && f.Stat.Uid != ownerUid)
                    ctx.Warn($"not owned by {owner}: " + f.Path);
            }
            foreach (var f in Finder.Walk([q + "/maildrop"], prune: true))
            {
                if (f.Stat.Uid != ownerUid)
                    ctx.Warn($"not owned by {owner}: {q}/maildrop");
            }
        }

        var group = ctx.SetgidGroup;
        var sgid = GroupId(group);
        var setgidCommands = new[] { ctx.CommandDirectory + "/postqueue", ctx.CommandDirectory + "/postdrop" };
        var groupTodo = new List<string>();
        if (ctx.CheckSharedFiles)
            groupTodo.AddRange(setgidCommands);
        groupTodo.Add(q + "/public");
        groupTodo.Add(q + "/maildrop");
        if (sgid != null)
        {
            foreach (var f in Finder.Walk(groupTodo, prune: true))
            {
                if (f.Stat.Gid != sgid)
                    ctx.Warn($"not owned by group {group}: " + f.Path);
            }
        }
        if (ctx.CheckSharedFiles)
        {
            var want = Convert.ToUInt32("2111", 8);
            foreach (var f in Finder.Walk(setgidCommands, prune: true))
            {
                if ((f.Stat.Mode & want) != want)
                    ctx.Warn("not set-gid or not owner+group+world executable: " + f.Path);
            }
        }

        foreach (var dir in new[] { "bin", "etc", "lib", "sbin", "usr" })
        {
            if (!Sys.Stat(dir, out var dst) || !Sys.IsDir(dst.Mode))
                continue;
            foreach (var f in Finder.Walk([dir]))
            {
                if (f.Stat.Uid != 0)
                    ctx.Warn($"not owned by root: {q}/{f.Path}");
            }
            foreach (var f in Finder.Walk([dir]))
            {
                if (!Sys.IsReg(f.Stat.Mode))
                    continue;
                if (Sys.Stat("/" + f.Path, out var sys) && Sys.IsReg(sys.Mode) && !SameContent(f.Path, "/" + f.Path))
                    ctx.Warn($"{q}/{f.Path} and /{f.Path} differ");
            }
        }

        foreach (var f in Finder.Walk(["corrupt"]))
        {
            if (Sys.IsReg(f.Stat.Mode))
                ctx.Warn("damaged message: " + f.Path);
        }

        if (ctx.CheckSharedFiles && IsFile("/usr/sbin/sendmail") && IsFile("/usr/lib/sendmail")
            && !SameContent("/usr/sbin/sendmail", "/usr/lib/sendmail"))
        {
            ctx.Warn("/usr/lib/sendmail and /usr/sbin/sendmail differ");
            ctx.Warn("Replace one by a symbolic link to the other");
        }
    }

    // QueueSubdirectories - `ls -d $queue_directory/* | egrep '/(saved|...)$'`.
    private static List<string> QueueSubdirectories(string q)
    {
        var names = new List<string>();
        using (var d = DirStream.Open(q))
        {
            string? name;
            while (d != null && (name = d.Next()) != null)
            {
                if (!name.StartsWith('.') && Array.IndexOf(MailOwnerQueues, name) >= 0)
                    names.Add(name);
            }
        }
        names.Sort(string.CompareOrdinal);
        var list = names.ConvertAll(n => q + "/" + n);
        // find without a path argument searches the current directory.
        if (list.Count == 0)
            list.Add(".");
        return list;
    }

    private static uint? UserId(string name)
    {
        if (Sys.GetPwNam(name) is { } pw)
            return pw.Uid;
        if (uint.TryParse(name, out var n))
            return n;
        Msg.Err.Write($"find: '{name}' is not the name of a known user\n");
        return null;
    }

    private static uint? GroupId(string name)
    {
        if (Sys.GetGrNam(name) is { } gid)
            return gid;
        if (uint.TryParse(name, out var n))
            return n;
        Msg.Err.Write($"find: '{name}' is not the name of an existing group\n");
        return null;
    }

    private static bool IsFile(string path) => Sys.Stat(path, out var st) && Sys.IsReg(st.Mode);

    private static bool SameContent(string a, string b)
    {
        try
        {
            using var fa = File.OpenRead(a);
            using var fb = File.OpenRead(b);
            if (fa.Length != fb.Length)
                return false;
            var ba = new byte[65536];
            var bb = new byte[65536];
            int n;
            while ((n = fa.Read(ba, 0, ba.Length)) > 0)
            {
                fb.ReadExactly(bb, 0, n);
                if (!ba.AsSpan(0, n).SequenceEqual(bb.AsSpan(0, n)))
                    return false;
            }
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
