// NAME
//	ScanDir - walk a queue directory and its one-letter subdirectories
// POSTFIX
//	src/util/scan_dir.c, src/global/mail_scan_dir.c
// DESCRIPTION
//	A stack of open directories, as scan_dir(3): Next() returns the
//	next name of the innermost one in readdir order ("." and ".."
//	skipped), Push() enters a subdirectory, Pop() leaves it; Path is
//	the innermost directory's path ("deferred/A"). NextQueueFile() is
//	mail_scan_dir_next(): it enters every one-letter name and returns
//	the other names, until the top directory ends. Failures to open or
//	close a directory are fatal, with Postfix's texts.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Global.Queue;

public sealed class ScanDir : IDisposable
{
    private readonly Stack<DirStream> stack = new();

    public ScanDir(string path) => Push(path);

    // Path - the directory that Next() reads.
    public string Path => stack.Count > 0 ? stack.Peek().Path : "";

    public int Depth => stack.Count - 1;

    public void Push(string name)
    {
        var path = stack.Count > 0 ? stack.Peek().Path + "/" + name : name;
        var dir = DirStream.Open(path);
        if (dir == null)
            Msg.Fatal($"scan_dir_push: open directory {path}: {Sys.LastError()}");
        if (Msg.Verbose > 1)
            Msg.Info($"scan_dir_push: open {path}");
        stack.Push(dir);
    }

    // Pop - leave the innermost directory; false when none is left.
    public bool Pop()
    {
        if (stack.Count == 0)
            return false;
        var dir = stack.Pop();
        if (!dir.Close())
            Msg.Fatal($"scan_dir_pop: close directory {dir.Path}: {Sys.LastError()}");
        if (Msg.Verbose > 1)
            Msg.Info($"scan_dir_pop: close {dir.Path}");
        return stack.Count > 0;
    }

    public string? Next()
    {
        if (stack.Count == 0)
            return null;
        var dir = stack.Peek();
        for (;;)
        {
            var name = dir.Next();
            if (name == null)
                return null;
            if (name is "." or "..")
            {
                if (Msg.Verbose > 1)
                    Msg.Info($"scan_dir_next: skip {name}");
                continue;
            }
            if (Msg.Verbose > 1)
                Msg.Info($"scan_dir_next: found {name}");
            return name;
        }
    }

    // NextQueueFile - mail_scan_dir_next(): the next file name, descending
    // into one-letter subdirectories.
    public string? NextQueueFile()
    {
        for (;;)
        {
            var name = Next();
            if (name == null)
            {
                if (!Pop())
                    return null;
            }
            else if (name.Length == 1)
            {
                Push(name);
            }
            else
            {
                return name;
            }
        }
    }

    public void Dispose()
    {
        while (stack.Count > 0)
            stack.Pop().Close();
    }

    internal static int LastErrno => Marshal.GetLastPInvokeError();
}
