# NAME
#	report - text, JSON and JUnit renderings of a compat run
# DESCRIPTION
#	text: a header (what was compared with what), one count line per
#	area, the notes and skips, then the first differences as unified
#	diffs, and a one-line verdict. json: the same as one object. junit:
#	one testsuite per area, one testcase per comparison (skips as
#	skipped, differences as failures carrying the diff).
import json
from xml.sax.saxutils import escape, quoteattr

from common import FAIL, INFO, PASS, SKIP

AREAS = ["postconf", "maps", "queue", "smtp", "hooks"]


def counts(run):
    per = {}
    for c in run.cases:
        per.setdefault(c.area, {PASS: 0, FAIL: 0, SKIP: 0, INFO: 0})[c.status] += 1
    return per


def ordered_areas(run):
    seen = [a for a in AREAS if any(c.area == a for c in run.cases) or any(n[0] == a for n in run.notes)]
    return seen + sorted({c.area for c in run.cases} - set(seen))


def text(run, header):
    out = []
    for k, v in header:
        out.append(f"{k + ':':<12}{v}")
    out.append("")
    per = counts(run)
    for a in ordered_areas(run):
        c = per.get(a, {PASS: 0, FAIL: 0, SKIP: 0, INFO: 0})
        line = f"{a:<10}{c[PASS]:5} identical {c[FAIL]:5} different {c[SKIP]:5} skipped"
        if c[INFO]:
            line = f"{a:<10}{c[INFO]:5} listed (not compared)"
        out.append(line + ("   FAIL" if c[FAIL] else ""))
    notes = [(a, t) for a, t in run.notes]
    notes += [(c.area, f"{c.name}: {c.note}") for c in run.cases if c.status == SKIP]
    if notes:
        out.append("")
        shown = notes if run.opts.verbose else notes[:15]
        for a, t in shown:
            out.append(f"note: {a}: {t}")
        if len(notes) > len(shown):
            out.append(f"note: ... {len(notes) - len(shown)} more notes (--verbose)")
    infos = [c for c in run.cases if c.status == INFO]
    for c in infos:
        out.append("")
        out.append(f"{c.area}: {c.name}")
        lines = c.note.splitlines()
        cap = len(lines) if run.opts.verbose else 20
        out += ["  " + ln for ln in lines[:cap]]
        if len(lines) > cap:
            out.append(f"  ... {len(lines) - cap} more lines (--verbose)")
    fails = [c for c in run.cases if c.status == FAIL]
    limit = len(fails) if run.opts.verbose else run.opts.max_diffs
    for c in fails[:limit]:
        out.append("")
        out.append(f"DIFFERENT {c.area}: {c.name}")
        lines = c.diff.splitlines()
        cap = run.opts.diff_lines
        out += ["  " + ln for ln in lines[:cap]]
        if len(lines) > cap:
            out.append(f"  ... {len(lines) - cap} more diff lines")
    if len(fails) > limit:
        out.append("")
        out.append(f"... {len(fails) - limit} more differences: " + ", ".join(f"{c.area}: {c.name}" for c in fails[limit:limit + 10])
                   + (" ..." if len(fails) > limit + 10 else ""))
    out.append("")
    total = sum(1 for c in run.cases if c.status in (PASS, FAIL))
    if fails:
        out.append(f"RESULT: DIFFERENT: {len(fails)} of {total} comparisons differ")
    else:
        out.append(f"RESULT: IDENTICAL: {total} comparisons, no difference")
    return "\n".join(out) + "\n"


def as_json(run, header):
    per = counts(run)
    return json.dumps({
        "header": dict(header),
        "result": "different" if any(c.status == FAIL for c in run.cases) else "identical",
        "areas": {a: {"identical": c[PASS], "different": c[FAIL], "skipped": c[SKIP]} for a, c in per.items()},
        "notes": [{"area": a, "text": t} for a, t in run.notes],
        "cases": [{"area": c.area, "name": c.name, "status": c.status,
                   **({"diff": c.diff} if c.diff else {}), **({"note": c.note} if c.note else {})}
                  for c in run.cases],
    }, indent=2) + "\n"


def junit(run, header):
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    fails = sum(1 for c in run.cases if c.status == FAIL)
    out.append(f'<testsuites name="postfix-compat" tests="{len(run.cases)}" failures="{fails}">')
    for a in ordered_areas(run):
        cs = [c for c in run.cases if c.area == a]
        f = sum(1 for c in cs if c.status == FAIL)
        s = sum(1 for c in cs if c.status in (SKIP, INFO))
        out.append(f'  <testsuite name={quoteattr(a)} tests="{len(cs)}" failures="{f}" skipped="{s}">')
        for c in cs:
            out.append(f'    <testcase classname={quoteattr("compat." + a)} name={quoteattr(c.name)}>')
            if c.status == FAIL:
                out.append(f'      <failure message="output differs from the reference">{escape(c.diff)}</failure>')
            elif c.status == SKIP:
                out.append(f'      <skipped message={quoteattr(c.note)}/>')
            elif c.status == INFO:
                out.append(f'      <system-out>{escape(c.note)}</system-out>')
            out.append('    </testcase>')
        out.append('  </testsuite>')
    out.append('</testsuites>')
    return "\n".join(out) + "\n"
