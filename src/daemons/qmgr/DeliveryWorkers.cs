// NAME
//	DeliveryWorkers - the threads that talk to the delivery agents
// DESCRIPTION
//	The reference's qmgr multiplexes every delivery-agent connection in
//	its event loop; ours hands each delivery to a worker thread that
//	blocks on the agent and posts the outcome back to the scheduler.
//	Workers are kept and reused: a new thread is started only when no
//	worker is idle (the scheduler's concurrency limits bound how many
//	deliveries run at once), so a busy queue does not pay for a thread
//	start per delivery.
using System;
using System.Collections.Generic;
using System.Threading;

namespace Postfix.Daemons.Qmgr;

internal static class DeliveryWorkers
{
    private static readonly object Gate = new();
    private static readonly Queue<Action> Pending = new();
    private static int idle;

    // Run - run work on an idle worker, or on a new one when none is idle.
    public static void Run(Action work)
    {
        lock (Gate)
        {
            Pending.Enqueue(work);
            if (idle > 0)
            {
                idle--;
                Monitor.Pulse(Gate);
                return;
            }
        }
        new Thread(Work) { IsBackground = true, Name = "deliver" }.Start();
    }

    private static void Work()
    {
        for (;;)
        {
            Action work;
            lock (Gate)
            {
                while (Pending.Count == 0)
                {
                    idle++;
                    Monitor.Wait(Gate);
                }
                work = Pending.Dequeue();
            }
            work();
        }
    }
}
