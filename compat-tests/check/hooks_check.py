# NAME
#	hooks_check - the external programs the configuration talks to
# DESCRIPTION
#	Lists the output of our "postfix hooks" (milters, policy services,
#	content filters, pipe commands, SASL and lookup servers) so that the
#	administrator sees which outside programs will talk to our daemons.
#	Informational: nothing is compared. Skipped with a note when our
#	postfix has no hooks command yet.
from common import INFO, SKIP

AREA = "hooks"


def check(run, conf):
    if not run.ours.has("postfix"):
        run.add(AREA, "postfix hooks", SKIP, note=f"no postfix command in {run.ours.sbin}")
        return
    o = run.exec([run.ours.prog("postfix"), "-c", conf, "hooks"], timeout=60)
    out = run.normalize(run.ours, o.stdout).rstrip()
    err = run.normalize(run.ours, o.stderr).rstrip()
    if o.status != 0 and (not out or "usage" in (out + err).lower()):
        run.add(AREA, "postfix hooks", SKIP, note="our postfix has no 'hooks' command (yet): not listed")
        return
    text = out + ("\n" + err if err else "")
    run.add(AREA, "postfix hooks", INFO, note=text or "(no external programs configured)")
