// NAME
//	InterruptCleanup - remove the unfinished queue file on a signal
// POSTFIX
//	src/postdrop/postdrop.c (postdrop_sig, postdrop_cleanup)
// DESCRIPTION
//	While Path is set, SIGINT, SIGQUIT, SIGTERM and SIGHUP remove the
//	file and end the process with the signal number as exit status; a
//	fatal error removes it through RemoveFile(). Only the first signal
//	acts.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using Postfix.Util;

namespace Postfix.Commands.Postdrop;

internal sealed class InterruptCleanup : IDisposable
{
    private readonly List<PosixSignalRegistration> registrations = new();
    private int fired;

    public InterruptCleanup()
    {
        foreach (var sig in new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
            registrations.Add(PosixSignalRegistration.Create(sig, OnSignal));
    }

    // Path - the file to remove (relative to the queue directory), or null.
    public volatile string? Path;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Exchange(ref fired, 1) != 0)
            return;
        RemoveFile();
        Native.Exit(SignalNumber(context.Signal));
    }

    public void RemoveFile()
    {
        var p = Path;
        Path = null;
        if (p != null)
            Sys.Unlink(p);
    }

    private static int SignalNumber(PosixSignal s) => s switch
    {
        PosixSignal.SIGHUP => Sys.SIGHUP,
        PosixSignal.SIGINT => Sys.SIGINT,
        PosixSignal.SIGQUIT => Sys.SIGQUIT,
        _ => Sys.SIGTERM,
    };

    public void Dispose()
    {
        foreach (var r in registrations)
            r.Dispose();
    }
}
