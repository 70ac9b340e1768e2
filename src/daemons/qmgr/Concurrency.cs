// NAME
//	Feedback, DestinationWindow, Backoff - the scheduler's arithmetic
// POSTFIX
//	src/qmgr/qmgr_feedback.c, src/qmgr/qmgr_queue.c (qmgr_queue_throttle,
//	qmgr_queue_unthrottle), src/qmgr/qmgr_active.c (the backoff time)
// DESCRIPTION
//	Feedback parses "1/concurrency", "1/sqrt_concurrency", "N/M" or a
//	plain number, as qmgr_feedback_init(). DestinationWindow is one
//	destination's concurrency window: slow start from
//	initial_destination_concurrency, positive feedback after each
//	delivery without a site-level problem, negative feedback after a
//	failed one, and "dead" (window 0) when the failed cohorts reach the
//	limit. Backoff computes the deferred queue time stamp offset and
//	the expiry test. No I/O: the unit tests call these directly.
using System;
using System.Globalization;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal readonly record struct Feedback(int Index, double Base)
{
    public const int IdxNone = 0;
    public const int IdxWin = 1;
    public const int IdxSqrtWin = 2;

    public double Value(double window) => Index switch
    {
        IdxWin => Base / window,
        IdxSqrtWin => Base / Math.Sqrt(window),
        _ => Base,
    };

    public static Feedback Parse(string text, string name)
    {
        var value = -1.0;
        var index = IdxNone;
        var t = text.Trim();
        var slash = t.IndexOf('/');
        if (slash < 0)
        {
            if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                value = v;
        }
        else if (double.TryParse(t[..slash].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var num))
        {
            var denom = t[(slash + 1)..].Trim();
            if (denom == "concurrency")
            {
                index = IdxWin;
                value = num;
            }
            else if (denom == "sqrt_concurrency")
            {
                index = IdxSqrtWin;
                value = num;
            }
            else if (num >= 0 && double.TryParse(denom, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 1.0 / int.MaxValue)
            {
                value = num / d;
            }
        }
        if (!(value >= 0 && value <= 1))
        {
            Msg.Warn($"{name}: ignoring malformed or unreasonable feedback: {text}");
            return new Feedback(IdxNone, 1);
        }
        return new Feedback(index, value);
    }
}

internal sealed class DestinationWindow
{
    public DestinationWindow(int limit, int initial, Feedback positive, Feedback negative, double failCohortLimit)
    {
        Limit = limit;
        Initial = initial;
        Positive = positive;
        Negative = negative;
        FailCohortLimit = failCohortLimit;
        Window = initial;
    }

    public int Limit { get; }
    public int Initial { get; }
    public Feedback Positive { get; }
    public Feedback Negative { get; }
    public double FailCohortLimit { get; }

    // Window - deliveries allowed at once; 0: throttled (dead).
    public int Window { get; private set; }
    public double Success { get; private set; }
    public double Failure { get; private set; }
    public double FailCohorts { get; private set; }

    public bool Ready => Window > 0;
    public bool Throttled => Window == 0;

    // Unthrottle - qmgr_queue_unthrottle(): a delivery without a site
    // problem (busy: the deliveries still in progress), or the end of
    // the dead time.
    public void Unthrottle(int busy)
    {
        FailCohorts = 0;
        if (Throttled)
        {
            Window = busy > 0 ? busy : Initial;
            Success = Failure = 0;
            return;
        }
        if (Limit == 0 || Limit > Window)
        {
            if (Window < busy + Initial)
            {
                var feedback = Positive.Value(Window);
                Success += feedback;
                while (Success + feedback / 2 >= 1)
                {
                    Window += 1;
                    Success -= 1;
                    Failure = 0;
                }
                if (Limit > 0 && Window > Limit)
                    Window = Limit;
            }
        }
    }

    // Throttle - qmgr_queue_throttle(): a site-level failure. True when
    // the destination is now dead.
    public bool Throttle()
    {
        if (!Ready)
            return Throttled;
        FailCohorts += 1.0 / Window;
        if (FailCohortLimit > 0 && FailCohorts >= FailCohortLimit)
        {
            Window = 0;
            return true;
        }
        var feedback = Negative.Value(Window);
        Failure -= feedback;
        while (Failure - feedback / 2 < 0)
        {
            Window -= 1;
            Success = 0;
            Failure += 1;
        }
        if (Window < 1)
            Window = 1;
        return false;
    }
}

internal static class Backoff
{
    // DeferDelay - qmgr_active_done_3_generic(): the time in the queue,
    // clamped to [minimal_backoff_time, maximal_backoff_time].
    public static int DeferDelay(long now, long createTime, int minBackoff, int maxBackoff)
    {
        if (createTime <= 0)
            return minBackoff;
        var delay = now - createTime;
        if (delay > maxBackoff)
            delay = maxBackoff;
        if (delay < minBackoff)
            delay = minBackoff;
        return (int)delay;
    }

    // Expired - maximal_queue_lifetime, or bounce_queue_lifetime for mail
    // from the null sender.
    public static bool Expired(long now, long createTime, string sender, int maxQueueTime, int dsnQueueTime) =>
        now >= createTime + (sender.Length > 0 ? maxQueueTime : dsnQueueTime);

    // WarnDue - a delay warning is due (the record holds its time).
    public static bool WarnDue(long now, long warnTime) => warnTime > 0 && now >= warnTime - 1;
}
