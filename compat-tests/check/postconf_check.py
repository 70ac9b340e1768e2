# NAME
#	postconf_check - postconf(1) output, ours against the reference
# DESCRIPTION
#	Runs postconf over the private copy of the configuration with the
#	views an administrator relies on (-n, -nx, -d, the full listing,
#	master.cf with -M, -Mf, -F, -P) and every parameter's value with -h;
#	stdout, stderr (as a set of lines: postconf walks hash tables) and
#	the exit status must be identical.
from common import FAIL, udiff

AREA = "postconf"

VIEWS = [
    ("-n", ["-n"]), ("-nx", ["-nx"]), ("-d", ["-d"]), ("all", []), ("-x", ["-x"]),
    ("-M", ["-M"]), ("-Mf", ["-Mf"]), ("-Mx", ["-Mx"]), ("-F", ["-F"]), ("-P", ["-P"]),
    ("-Px", ["-Px"]), ("-nf", ["-nf"]), ("-H", ["-H"]), ("-C user -n", ["-C", "user", "-n"]),
    ("-C service", ["-C", "service"]),
]


def check(run, conf):
    first = run.exec([run.ref.prog("postconf"), "-c", conf, "-n"])
    for name, args in VIEWS:
        run.compare(AREA, "postconf " + name, "postconf", ["-c", conf] + args, sort_stderr=True,
                    label="postconf " + " ".join(args))
        if first.status != 0:
            # Every further view would repeat the same fatal error (and
            # its one-second pause) on both sides.
            why = run.normalize(run.ref, first.stderr).strip().splitlines()
            run.note(AREA, "further views skipped: the reference stops with: " + (why[-1] if why else "?"))
            return
    # Every parameter name the reference knows for this configuration
    # (built-in, service-defined and user-defined), each through -h.
    o = run.exec([run.ref.prog("postconf"), "-c", conf, "-H"])
    names = o.stdout.decode("utf-8", "replace").split() if o.status == 0 else []
    if not names:
        run.note(AREA, "postconf -h: the reference lists no parameter names (postconf -H failed)")
        return
    res = {}
    for flag in ("-h", "-hx"):
        runs = [(side, run.exec([side.prog("postconf"), "-c", conf, flag] + names)) for side in (run.ref, run.ours)]
        pids = [p.pid for _, p in runs]
        for side, p in runs:
            out = run.normalize(side, p.stdout, pids=pids)
            err = "".join(sorted(run.normalize(side, p.stderr, pids=pids).splitlines(True)))
            res[(side.label, flag)] = (out, err, str(p.status) + "\n")
    for flag in ("-h", "-hx"):
        a, b = res[(run.ref.label, flag)], res[(run.ours.label, flag)]
        if a == b:
            run.add(AREA, f"postconf {flag} (each of {len(names)} parameters)", "pass")
            continue
        # One value per line in name order: show the names with the values.
        def named(text):
            lines = text.splitlines()
            if len(lines) != len(names):
                return text
            return "".join(f"{n} = {v}\n" for n, v in zip(names, lines))
        diff = udiff(named(a[0]), named(b[0]), "stdout") if a[0] != b[0] else ""
        if a[1] != b[1]:
            diff += udiff(a[1], b[1], "stderr")
        if a[2] != b[2]:
            diff += udiff(a[2], b[2], "exit status")
        run.add(AREA, f"postconf {flag} (each of {len(names)} parameters)", FAIL,
                f"$ postconf {flag} NAME... (all {len(names)} names of postconf -H)\n" + diff)
