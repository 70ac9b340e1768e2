# NAME
#	runner - options, sides and the order of checks of compat-tests/run
# DESCRIPTION
#	Resolves the configuration directory, the reference build (from the
#	installed postconf's command_directory and daemon_directory) and
#	ours (this checkout's out/ unless told), copies main.cf and
#	master.cf into a private temp directory, runs the selected checks
#	and prints the report. Exit status: 0 when everything compared is
#	identical, 1 when something differs, 2 when the run itself cannot be
#	set up. Nothing is written outside the temp directory, which is
#	removed at the end (--keep keeps it).
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import hooks_check
import maps_check
import postconf_check
import queue_check
import report
import smtp_check
from common import Run, Side, copy_aged

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(HERE))


def parse(argv):
    p = argparse.ArgumentParser(
        prog=os.environ.get("POSTFIX_COMPAT_PROG", "compat-tests/run"),
        description="Compare this Postfix-compatible build with the installed reference Postfix "
                    "on a configuration, read-only.")
    p.add_argument("--config", metavar="DIR", default=os.environ.get("MAIL_CONFIG") or "/etc/postfix",
                   help="configuration directory (default $MAIL_CONFIG or /etc/postfix)")
    p.add_argument("--reference", metavar="SBIN_DIR", help="reference commands (default: the installed postconf's command_directory)")
    p.add_argument("--reference-daemons", metavar="DIR", help="reference daemons (default: its daemon_directory)")
    p.add_argument("--ours", metavar="SBIN_DIR", help="our commands (default: out/sbin of this checkout)")
    p.add_argument("--ours-daemons", metavar="DIR", help="our daemons (default: ../libexec/postfix beside --ours)")
    p.add_argument("--smtp", action="store_true", help="replay SMTP dialogues against throwaway loopback instances")
    p.add_argument("--queue", action="store_true", help="compare postqueue -j and postcat -q on the live queue (read-only)")
    p.add_argument("--no-postconf", action="store_true", help="skip the postconf checks")
    p.add_argument("--no-maps", action="store_true", help="skip the lookup table checks")
    p.add_argument("--no-hooks", action="store_true", help="do not list the configuration's hooks")
    p.add_argument("--maps-from", metavar="DIR", help="look for a table file that is not at its configured path by its base name in DIR")
    p.add_argument("--queue-sample", metavar="N", type=int, default=20, help="queue files read with postcat (default 20)")
    p.add_argument("--smtp-port", metavar="PORT", type=int, default=0, help="first loopback port of the SMTP instances (default: free high ports)")
    p.add_argument("--format", choices=["text", "json", "junit"], default="text")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    p.add_argument("--max-diffs", metavar="N", type=int, default=5, help="differences shown in the text report (default 5)")
    p.add_argument("--diff-lines", metavar="N", type=int, default=30, help="lines shown of each difference (default 30)")
    p.add_argument("--keep", action="store_true", help="keep the temp directory")
    p.add_argument("-v", "--verbose", action="store_true", help="progress, every note and every difference")
    return p.parse_args(argv)


def fail(msg):
    print(f"compat: {msg}", file=sys.stderr)
    sys.exit(2)


def reference_side(opts, conf):
    sbin = opts.reference
    if not sbin:
        pc = shutil.which("postconf", path="/usr/sbin:/usr/local/sbin:" + os.environ.get("PATH", "")) or "/usr/sbin/postconf"
        sbin = _param(pc, conf, "command_directory") or os.path.dirname(pc)
    pc = os.path.join(sbin, "postconf")
    if not os.access(pc, os.X_OK):
        fail(f"no reference postconf in {sbin} (--reference SBIN_DIR)")
    daemons = opts.reference_daemons or _param(pc, conf, "daemon_directory") or "/usr/lib/postfix/sbin"
    return Side("reference", os.path.abspath(sbin), os.path.abspath(daemons))


def _param(pc, conf, name):
    tries = [["-d", "-h", name]]
    if os.path.isfile(os.path.join(conf, "main.cf")):
        tries.insert(0, ["-c", conf, "-h", name])
    for args in tries:
        try:
            p = subprocess.run([pc] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
        except OSError:
            return None
        if p.returncode == 0 and p.stdout.strip():
            return p.stdout.decode().strip()
    return None


def ours_side(opts):
    sbin = opts.ours or os.path.join(CHECKOUT, "out", "sbin")
    if not os.access(os.path.join(sbin, "postconf"), os.X_OK):
        fail(f"no postconf of ours in {sbin}: run make, or name the build with --ours SBIN_DIR")
    daemons = opts.ours_daemons or os.path.join(os.path.dirname(os.path.abspath(sbin)), "libexec", "postfix")
    return Side("ours", os.path.abspath(sbin), os.path.abspath(daemons) if os.path.isdir(daemons) else "")


def version(side):
    try:
        p = subprocess.run([side.prog("postconf"), "-d", "-h", "mail_version"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=30)
        return p.stdout.decode().strip() or "?"
    except OSError:
        return "?"


def main(argv):
    opts = parse(argv)
    realconf = os.path.abspath(opts.config)
    if not os.path.isdir(realconf):
        fail(f"configuration directory {realconf} not found")
    if opts.maps_from:
        opts.maps_from = os.path.abspath(opts.maps_from)
    ref = reference_side(opts, realconf)
    ours = ours_side(opts)
    if ref.sbin == ours.sbin:
        fail(f"the reference and ours are the same directory ({ref.sbin})")
    tmp = tempfile.mkdtemp(prefix="postfix-compat.")
    os.chmod(tmp, 0o711)  # the throwaway instances' daemons run as mail_owner
    run = Run(opts, ref, ours, tmp)
    started = time.time()
    try:
        conf = run.subdir("conf")
        missing = []
        for f in ("main.cf", "master.cf"):
            src = os.path.join(realconf, f)
            if os.path.isfile(src):
                copy_aged(src, os.path.join(conf, f))
            else:
                missing.append(f)
        if missing:
            run.note("postconf", f"{' and '.join(missing)} not found in {realconf}: compared as the programs see it")
        run.replacements.append((conf, realconf))
        if not opts.no_postconf:
            postconf_check.check(run, conf)
        if not opts.no_maps:
            maps_check.check(run, conf, realconf)
        if opts.queue:
            queue_check.check(run, conf)
        if opts.smtp:
            smtp_check.check(run, conf, realconf)
        if not opts.no_hooks:
            hooks_check.check(run, conf)
        header = [("config", realconf), ("reference", f"{ref.sbin} (Postfix {version(ref)})"),
                  ("ours", f"{ours.sbin} ({version(ours)})"),
                  ("checks", ", ".join(a for a, on in (("postconf", not opts.no_postconf), ("maps", not opts.no_maps),
                                                       ("queue", opts.queue), ("smtp", opts.smtp), ("hooks", not opts.no_hooks)) if on)
                   + f" in {time.time() - started:.0f} s")]
        render = {"text": report.text, "json": report.as_json, "junit": report.junit}[opts.format]
        body = render(run, header)
        if opts.output:
            with open(opts.output, "w") as f:
                f.write(body)
        else:
            sys.stdout.write(body)
            sys.stdout.flush()
    finally:
        if opts.keep:
            print(f"compat: temp directory kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if any(c.status == "fail" for c in run.cases) else 0
