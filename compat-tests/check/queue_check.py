# NAME
#	queue_check - the live queue read by both builds (--queue)
# DESCRIPTION
#	Strictly read-only: postqueue -j (through the running showq, or as
#	root the stand-alone showq of the side's daemon directory when the
#	mail system is down) and postcat -q of a sample of queue files. The
#	queue is never changed and never taken over. A live queue moves: the
#	reference listing is taken before and after ours, and ours must
#	equal one of them.
import json
import os
import shutil

from common import FAIL, PASS, SKIP, udiff

AREA = "queue"


def side_conf(run, conf, side):
    """A configuration copy whose daemon_directory is the side's own."""
    if side is run.ref or not side.libexec or not os.path.exists(os.path.join(side.libexec, "showq")):
        return conf
    d = run.subdir("queue-conf-" + side.label)
    for f in os.listdir(conf):
        p = os.path.join(conf, f)
        if os.path.isfile(p):
            shutil.copy2(p, os.path.join(d, f))
    with open(os.path.join(d, "main.cf"), "a") as f:
        f.write(f"\ndaemon_directory = {side.libexec}\ncommand_directory = {side.sbin}\n")
    past = os.stat(os.path.join(conf, "main.cf")).st_mtime
    os.utime(os.path.join(d, "main.cf"), (past, past))
    run.replacements.append((d, conf))
    return d


def listing(run, side, conf):
    o = run.exec([side.prog("postqueue"), "-c", conf, "-j"], timeout=300)
    # No pid replacement: a queue listing is full of sizes and times, and
    # postqueue prints no process id.
    return (run.normalize(side, o.stdout), run.normalize(side, o.stderr), str(o.status) + "\n")


def check(run, conf):
    pc = run.ref.prog("postconf")
    o = run.exec([pc, "-c", conf, "-h", "queue_directory"])
    qdir = o.stdout.decode().strip()
    if o.status != 0:
        why = run.normalize(run.ref, o.stderr).strip().splitlines()
        run.add(AREA, "queue", SKIP, note="the reference cannot read the configuration: " + (why[-1] if why else "?"))
        return
    if not qdir or not os.path.isdir(qdir):
        run.add(AREA, "queue", SKIP, note=f"queue directory {qdir or '(unknown)'} not found")
        return
    if os.geteuid() != 0:
        run.note(AREA, "not root: postqueue needs the running mail system, postcat may not read the queue")
    ours_conf = side_conf(run, conf, run.ours)
    before = listing(run, run.ref, conf)
    ours = listing(run, run.ours, ours_conf)
    after = listing(run, run.ref, conf)
    if ours in (before, after):
        run.add(AREA, "postqueue -j", PASS)
    else:
        moving = " (the queue changed while it was read)" if before != after else ""
        diff = "".join(udiff(before[i], ours[i], w) for i, w in enumerate(("stdout", "stderr", "exit status"))
                       if before[i] != ours[i])
        run.add(AREA, "postqueue -j", FAIL, "$ postqueue -j" + moving + "\n" + diff)
    ids = []
    for ln in after[0].splitlines():
        try:
            ids.append(json.loads(ln)["queue_id"])
        except (ValueError, KeyError, TypeError):
            continue
    sample = ids[: run.opts.queue_sample]
    if not ids:
        run.note(AREA, "the queue is empty: no queue files to read with postcat")
    for qid in sample:
        res = {}
        for side, c in ((run.ref, conf), (run.ours, ours_conf)):
            o = run.exec([side.prog("postcat"), "-c", c, "-q", qid])
            res[side.label] = (run.normalize(side, o.stdout), run.normalize(side, o.stderr), str(o.status) + "\n")
        gone = any("not found" in r[1] for r in res.values())
        if gone and res[run.ref.label] != res[run.ours.label]:
            run.add(AREA, f"postcat -q {qid}", SKIP, note="left the queue while it was read")
            continue
        run.judge(AREA, f"postcat -q {qid}", res, f"postcat -q {qid}")
    if len(ids) > len(sample):
        run.note(AREA, f"postcat: {len(sample)} of {len(ids)} queue files read (--queue-sample N)")
