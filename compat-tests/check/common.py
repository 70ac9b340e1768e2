# NAME
#	common - sides, process runs and the result model of compat-tests/run
# DESCRIPTION
#	A Side is one Postfix build (its command and daemon directories).
#	run_both() runs the same command line under the reference and under
#	ours and turns the two outcomes (stdout, stderr, exit status) into
#	one Case: pass, or fail with a unified diff. Every program runs with
#	its working directory inside the run's private temp directory.
import difflib
import os
import re
import shutil
import subprocess
import time

PASS, FAIL, SKIP, INFO = "pass", "fail", "skip", "info"


class Side:
    def __init__(self, label, sbin, libexec):
        self.label = label
        self.sbin = sbin
        self.libexec = libexec

    def prog(self, name):
        return os.path.join(self.sbin, name)

    def has(self, name):
        return os.access(self.prog(name), os.X_OK)


class Case:
    def __init__(self, area, name, status, diff="", note=""):
        self.area, self.name, self.status, self.diff, self.note = area, name, status, diff, note


class Outcome:
    def __init__(self, stdout, stderr, status, pid=0):
        self.stdout, self.stderr, self.status, self.pid = stdout, stderr, status, pid


class Run:
    """Shared state of one compat run: options, sides, temp dir, results."""

    def __init__(self, opts, ref, ours, tmp):
        self.opts, self.ref, self.ours, self.tmp = opts, ref, ours, tmp
        self.cases = []
        self.notes = []          # (area, text) shown in the report
        self.replacements = []   # (text, replacement) applied to outputs

    def add(self, area, name, status, diff="", note=""):
        self.cases.append(Case(area, name, status, diff, note))
        if self.opts.verbose:
            print(f"  {status:4} {area}: {name}", flush=True)

    def note(self, area, text):
        self.notes.append((area, text))

    def subdir(self, *parts):
        d = os.path.join(self.tmp, *parts)
        os.makedirs(d, exist_ok=True)
        return d

    # exec - one program run; never raises on the program's failure.
    def exec(self, argv, stdin=None, cwd=None, env=None, timeout=120):
        # argv[0] is the bare program name on both sides: some messages
        # carry the name the program was started under.
        if env is None:
            # The programs' own temp files stay in the run's temp dir.
            env = dict(os.environ, TMPDIR=self.subdir("tmp"))
        try:
            p = subprocess.Popen([os.path.basename(argv[0])] + list(argv[1:]), executable=argv[0],
                                 cwd=cwd or self.tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        except OSError as e:
            return Outcome(b"", f"(cannot run {argv[0]}: {e.strerror})\n".encode(), -1)
        try:
            out, err = p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return Outcome(b"", b"(timed out after %d s)\n" % timeout, -1, p.pid)
        return Outcome(out, err, p.returncode, p.pid)

    # normalize - run-dependent text made comparable: the temp dir, the
    # program's own process id (in process_id and values built from it).
    # A comparison passes the process ids of BOTH sides (pids), so that a
    # number that happens to equal one side's pid is replaced on both.
    def normalize(self, side, data, extra=(), pid=0, pids=()):
        text = data.decode("utf-8", "replace")
        for p in set([pid] + list(pids)):
            if p:
                text = re.sub(r"\b%d\b" % p, "PID", text)
        for a, b in list(self.replacements) + list(extra):
            text = text.replace(a, b)
        text = text.replace(self.tmp, "TMP")
        text = re.sub(r"^process_id = [0-9]+$", "process_id = PID", text, flags=re.M)
        return text

    # compare - run PROG ARGS under both sides and record one case.
    #   sort_stderr: compare stderr as a set of lines (hash-order warnings)
    #   sort_stdout: likewise stdout
    #   cwd: a function side -> working directory
    #   post: a function text -> text applied to both normalized stdouts
    def compare(self, area, name, prog, args, stdin=None, sort_stderr=False, sort_stdout=False,
                cwd=None, extra=(), post=None, label=None):
        res = {}
        runs = [(side, self.exec([side.prog(prog)] + list(args), stdin=stdin, cwd=cwd(side) if cwd else None))
                for side in (self.ref, self.ours)]
        pids = [o.pid for _, o in runs]
        for side, o in runs:
            out = self.normalize(side, o.stdout, extra, pids=pids)
            err = self.normalize(side, o.stderr, extra, pids=pids)
            if post:
                out = post(out)
            if sort_stdout:
                out = "".join(sorted(out.splitlines(True)))
            if sort_stderr:
                err = "".join(sorted(err.splitlines(True)))
            res[side.label] = (out, err, str(o.status) + "\n")
        return self.judge(area, name, res, label or (prog + " " + " ".join(args)))

    # judge - compare two (stdout, stderr, status) triples, record the case.
    def judge(self, area, name, res, command="", what=("stdout", "stderr", "exit status")):
        a, b = res[self.ref.label], res[self.ours.label]
        parts = []
        for i, what in enumerate(what):
            if a[i] != b[i]:
                parts.append(udiff(a[i], b[i], what))
        if parts:
            head = f"$ {command}\n" if command else ""
            self.add(area, name, FAIL, head + "".join(parts))
            return False
        self.add(area, name, PASS)
        return True


def udiff(a, b, what):
    lines = list(difflib.unified_diff(a.splitlines(True), b.splitlines(True),
                                      f"reference {what}", f"ours {what}", n=1))
    out = []
    for ln in lines:
        out.append(ln if ln.endswith("\n") else ln + "\n")
    return "".join(out)


# copy_aged - copy a file keeping its times; a file changed in the last
# seconds is backdated (Postfix re-reads recently changed configuration).
def copy_aged(src, dst):
    shutil.copy2(src, dst)
    st = os.stat(dst)
    if time.time() - st.st_mtime < 5:
        past = time.time() - 120
        os.utime(dst, (past, past))


def split_list(value):
    """A Postfix list value split on commas and white space, braces kept whole."""
    out, cur, depth = [], [], 0
    for ch in value:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        if depth == 0 and (ch in ", \t\r\n"):
            if cur:
                out.append("".join(cur))
                cur = []
            continue
        cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out
