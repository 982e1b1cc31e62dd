"""Make a corpus of real checkpoints with a given CRIU: ``bash scripts/make-corpus [--out DIR] [NAME...]``.

Each scenario program is started as the corpus's were (detached, clean environment, no inherited fds),
dumped for real, and restored for real as root and unprivileged (the test user, with the capped copy),
each restore judged as the e2e suite judges it (rc 0 and the program still answers). The output holds
one directory per checkpoint, ``_restore-logs/`` (each restore's log, rc and command), ``MANIFEST.md``
and ``ground_truth.json`` in the shape of sample-images/'s, so the project can follow new CRIU releases:
make a corpus with the new CRIU, then run the tests' checks against it or move checkpoints into
sample-images/ with their MANIFEST entries.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import programs, realcriu
from .lab import Lab


@dataclass
class Scenario:
    what: str
    start: object  # start(lab, user) -> programs.Running
    dumped_by: str  # "root" or "user" (the test user, criu --unprivileged)
    flags: tuple[str, ...] = ()
    terminal: bool = False  # restores run criu on a terminal (a --shell-job tree on a pty)


def _user(lab, scenario):
    return lab.criu.user if scenario.dumped_by == "user" else None


SCENARIOS = {
    "plain": Scenario(
        "the ticker (a C loop printing a line a second) as root, its output in root's file",
        lambda lab, u: programs.ticker(lab, u),
        "root",
    ),
    "unpriv-plain": Scenario(
        "the ticker as the test user, without no_new_privs", lambda lab, u: programs.ticker(lab, u), "user"
    ),
    "unpriv-plain-nnp": Scenario(
        "the ticker as the test user, with no_new_privs", lambda lab, u: programs.ticker(lab, u, nnp=True), "user"
    ),
    "tty": Scenario(
        "the ticker on a pty whose master is outside the tree (ptyrun.py), as root",
        lambda lab, u: programs.on_pty(lab, u, nnp=False),
        "root",
        ("--shell-job",),
        terminal=True,
    ),
    "unpriv-tty": Scenario(
        "the ticker on a pty whose master is outside the tree, as the test user (nnp)",
        lambda lab, u: programs.on_pty(lab, u),
        "user",
        ("--shell-job",),
        terminal=True,
    ),
    "http-root": Scenario(
        "python3 -m http.server on 127.0.0.1 as root, its log in root's file",
        lambda lab, u: programs.http_server(lab, u),
        "root",
    ),
    "http-user": Scenario(
        "python3 -m http.server as the test user (nnp)", lambda lab, u: programs.http_server(lab, u, nnp=True), "user"
    ),
    "jvm-http": Scenario(
        "a JVM serving HTTP (Hello.java, com.sun.net.httpserver) as the test user (nnp)",
        lambda lab, u: programs.jvm_http(lab, u, nnp=True),
        "user",
    ),
    "tmux": Scenario(
        "a tmux server (master of its pane's pty) with a pane running a shell loop, as the test user",
        lambda lab, u: programs.tmux_pane(lab, u),
        "user",
    ),
    "plain-devnull": Scenario(
        "the ticker as root with stdio on /dev/null: only its uid-0 creds stand in the way",
        lambda lab, u: programs.devnull_ticker(lab),
        "root",
    ),
    "unpriv-tree": Scenario(
        "4 processes, 7 threads, own session and group children, as the test user (nnp)",
        lambda lab, u: programs.process_tree(lab, u, nnp=True),
        "user",
    ),
    "unpriv-flock": Scenario(
        "flock() in a parent and a POSIX lock in its child, as the test user (nnp)",
        lambda lab, u: programs.locker(lab, u, nnp=True),
        "user",
        ("--file-locks",),
    ),
    "ghost": Scenario(
        "a deleted file kept open and mappings of a regular file, as root",
        lambda lab, u: programs.ghost(lab, u),
        "root",
    ),
    "tail-inotify": Scenario(
        "tail -F on a log as root: blocked in poll() on its inotify fd (inotify dumps need root)",
        lambda lab, u: programs.tail_follow(lab, u),
        "root",
    ),
    "sqlite-lock": Scenario(
        "sqlite3 in an exclusive transaction (POSIX locks), as the test user (nnp)",
        lambda lab, u: programs.sqlite_lock(lab, u),
        "user",
        ("--file-locks",),
    ),
}


def make_one(lab: Lab, name: str, scenario: Scenario, out: Path) -> dict:
    user = _user(lab, scenario)
    running = scenario.start(lab, user)
    dump = lab.dump(running.pid, name, user=user, flags=scenario.flags, data=[running.data])
    dump_cmd = (
        f"criu dump {'--unprivileged ' if user else ''}-t {dump.pid} -D {name} -v4 -o dump.log "
        f"{' '.join(scenario.flags)}".strip()
        + (" (as the test user)" if user else "")
    )
    logs = out / "_restore-logs"
    entry = {
        "what": scenario.what,
        "dumped_by": "root" if user is None else f"uid {user.uid}",
        "dump_cmd": dump_cmd,
        "processes": len(dump.exes),
    }
    for mode, restorer in (("root", None), ("unpriv", lab.criu.user)):
        outcome = lab.restore_and_probe(
            dump, running.probe, user=restorer, flags=scenario.flags, terminal=scenario.terminal
        )
        cmd = (
            f"criu restore {'--unprivileged ' if restorer else ''}-d -D {name} -v4 -o restore.log "
            f"{' '.join(scenario.flags)}".strip()
        )
        cmd += " (as the test user)" if restorer else ""
        cmd += " (criu on a pty)" if scenario.terminal else ""
        shutil.copy(outcome.log, logs / f"{name}-{mode}.restore.log")
        (logs / f"{name}-{mode}.rc").write_text(f"{outcome.rc}\n")
        (logs / f"{name}-{mode}.cmd").write_text(cmd + "\n")
        entry[f"restore_{mode}"] = {
            "rc": str(outcome.rc),
            "restored": outcome.restored,
            "outcome": outcome.describe(),
            "decisive_error": "" if outcome.restored else outcome.why,
        }
    subprocess.run(["cp", "-a", str(dump.images), str(out / name)], check=True)
    entry["files"] = {f.name: f.stat().st_size for f in sorted((out / name).iterdir()) if f.is_file()}
    return entry


def manifest(criu: realcriu.RealCriu, entries: dict) -> str:
    lines = [
        "# Corpus made by scripts/make-corpus",
        "",
        f"- CRIU {criu.version_text} ({criu.binary}); kernel {platform.release()}; "
        f"unprivileged side: uid {criu.user.uid} ({criu.user.name}) with a copy of criu holding "
        f"{realcriu.FILE_CAPS}.",
        "- Programs from sample-images/_scenario-src and the distribution (tests/e2e/programs.py), started "
        "detached with a clean environment; each restore from a copy, judged as the e2e suite does: rc 0 and "
        "the program still answers 2 s later.",
        "",
        "| scenario | dumped by | dump flags | root restore | unprivileged restore |",
        "|---|---|---|---|---|",
    ]
    for name, e in entries.items():
        flags = e["dump_cmd"].split("-o dump.log")[1].replace("(as the test user)", "").strip() or "—"
        lines.append(
            f"| {name} | {e['dumped_by']} | `{flags}` | {e['restore_root']['outcome']} | "
            f"{e['restore_unpriv']['outcome']} |"
        )
    for name, e in entries.items():
        lines += ["", f"## {name}", "", f"- **What**: {e['what']}", f"- **Dump**: `{e['dump_cmd']}`"]
        for mode in ("root", "unpriv"):
            r = e[f"restore_{mode}"]
            lines.append(f"- **Restore {mode}**: rc {r['rc']}: {r['outcome']}")
        lines.append("- **Files**: " + ", ".join(f"{n} {s}" for n, s in e["files"].items()))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="scripts/make-corpus", description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", metavar="NAME", help=f"scenarios (default: all): {', '.join(SCENARIOS)}")
    p.add_argument("--out", type=Path, help="output directory, new (default: build/corpus-CRIUVERSION)")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario {', '.join(unknown)}")
    base = Path(tempfile.mkdtemp(prefix="criu-inspect-corpus-"))
    base.chmod(0o755)
    try:
        criu = realcriu.prepare(base / "criu")
        if isinstance(criu, str):
            print(f"make-corpus: {criu}", file=sys.stderr)
            return 2
        out = args.out or realcriu.REPO / "build" / f"corpus-{criu.version_text}"
        if out.exists():
            p.error(f"{out} exists: name a new directory")
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "_restore-logs").mkdir(parents=True)
        bindir = base / "bin"
        bindir.mkdir(mode=0o755)
        entries = {}
        for name in args.names or SCENARIOS:
            lab = Lab(criu, base, name, bindir, record=lambda **row: None)
            try:
                entries[name] = make_one(lab, name, SCENARIOS[name], tmp)
            finally:
                lab.close()
            r = entries[name]
            print(
                f"make-corpus: {name}: root {r['restore_root']['outcome']}; "
                f"unprivileged {r['restore_unpriv']['outcome']}"
            )
        (tmp / "MANIFEST.md").write_text(manifest(criu, entries))
        (tmp / "ground_truth.json").write_text(
            json.dumps({"criu": criu.version_text, "scenarios": entries}, indent=1) + "\n"
        )
        os.replace(tmp, out)
        print(f"make-corpus: wrote {out}")
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
