"""Acceptance: for every real restore the corpus records, `check` under the same conditions says
"blocked" exactly when that restore failed, and an error finding names the cause in CRIU's log.

Table-driven from sample-images/ground_truth.json (scenarios and extra_restores) and the exact
restore commands in _restore-logs/*.cmd. Same conditions: root restores -> --target root;
unprivileged ones -> --target unprivileged --uid 1001 --cap NET_ADMIN --cap SYS_PTRACE (the capped
criu of the corpus); the criu flags of the command; --terminal where criu ran on a pty.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from tests.conftest import CORPUS

WORK = "/tmp/criu-work"  # $WORK in the MANIFEST and the logs

# decisive CRIU error (or hang) -> the rule that must name it
CAUSES = [
    ("Can't open file", "CRI008"),
    ("Unable to set real, effective and saved user ID", "CRI005"),
    ("tty: Can't setup uid", "CRI002"),
    ("Unable to mount tmpfs in .criu.cgyard", "CRI004"),
    ("Can't create ghost regfile", "CRI009"),
    ("Unable to drop capability", "CRI007"),
    ("Don't have tty to inherit session from", "CRI001"),
    ("hung in 'Restoring children in our session'", "CRI003"),
    ("locks they held were not taken again", "CRI010"),
]
# extra restores whose name does not start with their scenario's (MANIFEST "More restores")
ALIASES = {"sj-noflag": "shelljob-foreign-sid"}
CRIU_FLAGS = ("--shell-job", "--file-locks", "--tcp-established", "--tcp-close", "--ext-unix-sk")


def _ground_truth():
    return json.loads((CORPUS / "ground_truth.json").read_text())


def _cmd_text(name: str, fallback: str = "") -> str:
    path = CORPUS / "_restore-logs" / f"{name}.cmd"
    return path.read_text().strip() if path.is_file() else fallback


def restore_args(cmd: str) -> list[str]:
    """The check options that reproduce one recorded `criu restore` command line."""
    unpriv = "--unprivileged" in cmd or "criu-capped" in cmd
    args = (
        ["--target", "unprivileged", "--uid", "1001", "--cap", "NET_ADMIN", "--cap", "SYS_PTRACE"]
        if unpriv
        else ["--target", "root"]
    )
    on_pty = "on a pty" in cmd and "no controlling terminal" not in cmd
    args.append("--terminal" if on_pty else "--no-terminal")
    bare = re.sub(r"\([^)]*\)", " ", cmd)  # "(NO --shell-job; ...)" notes are not flags
    tokens = shlex.split(bare.replace("'", " "))
    for i, tok in enumerate(tokens):
        negated = i > 0 and tokens[i - 1].upper() == "NO"
        flag = tok.rstrip(":,;")
        if negated:
            continue
        if flag in CRIU_FLAGS:
            args.append(flag)
        elif flag.startswith("--manage-cgroups"):
            args.append(flag if "=" in flag else "--manage-cgroups")
        elif flag == "--inherit-fd" and i + 1 < len(tokens):
            args += ["--inherit-fd", tokens[i + 1]]
    return args


def _cases():
    gt = _ground_truth()
    names = sorted(gt["scenarios"], key=len, reverse=True)
    cases = []
    for name, sc in sorted(gt["scenarios"].items()):
        for mode in ("root", "unpriv"):
            rec = sc[f"restore_{mode}"]
            cmd = _cmd_text(f"{name}-{mode}")
            cases.append(pytest.param(name, cmd, rec, rec["decisive_error"], id=f"{name}-{mode}"))
    for key, rec in sorted(gt["extra_restores"].items()):
        cmd = _cmd_text(key, rec.get("cmd", ""))
        m = re.search(r"\(copy of ([\w-]+?)(?: dump)?\)", cmd)
        scenario = m.group(1) if m else ALIASES.get(key) or next((n for n in names if key.startswith(n)), None)
        decisive = rec["decisive_error"] or rec.get("why_not_restored") or (cmd if int(rec["rc"]) != 0 else "")
        cases.append(pytest.param(scenario, cmd, rec, decisive, id=key))
    return cases


def test_the_table_covers_every_recorded_restore():
    gt = _ground_truth()
    assert len(gt["scenarios"]) == 20
    cases = _cases()
    assert len(cases) == 2 * len(gt["scenarios"]) + len(gt["extra_restores"])
    assert all(c.values[0] in gt["scenarios"] for c in cases), [
        c.id for c in cases if c.values[0] not in gt["scenarios"]
    ]
    # the command parser reads the flags that matter, and not the "NO --flag" notes
    assert "--shell-job" not in restore_args(_cmd_text("sj-noflag"))
    assert "--shell-job" in restore_args(_cmd_text("tty-unpriv")) and "--terminal" in restore_args(
        _cmd_text("tty-unpriv")
    )
    nolocks = gt["extra_restores"]["unpriv-flock-unpriv-nolocksflag"]["cmd"]
    assert "--file-locks" not in restore_args(nolocks)


@pytest.mark.parametrize("scenario,cmd,rec,decisive", _cases())
def test_check_agrees_with_the_real_restore(cli, scenario, cmd, rec, decisive):
    args = restore_args(cmd)
    proc = cli("check", str(CORPUS / scenario), *args, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    if rec.get("peer_bound"):
        # restored because the external unix peer was bound on that machine then: only the restoring
        # machine can know (check --host looks, tests/e2e/test_unix_socket.py): blocked by CRI016 alone
        assert [f["code"] for f in errors] == ["CRI016"], errors
        assert "check --host" in errors[0]["message"]
        return
    if int(rec["rc"]) == 0 and rec.get("answered", True):
        assert report["verdict"] == "restorable", (args, errors)
        assert proc.returncode == 0
        return
    assert report["verdict"] == "blocked", (args, report["findings"])
    assert proc.returncode == 1
    code = next(c for pattern, c in CAUSES if pattern in decisive)
    named = [f for f in errors if f["code"] == code]
    assert named, f"restore failed with {decisive!r}; expected an error {code}, got {[f['code'] for f in errors]}"
    # the finding quotes what criu printed (paths as in the MANIFEST, $WORK for the work dir)
    quoted = [(f["criu_error"] or "").replace(WORK, "$WORK") for f in named]
    if code == "CRI004":
        assert any(q.split("cgyard")[0] in decisive for q in quoted), quoted
    elif code == "CRI003":
        assert any("--shell-job" in f["fix"] for f in named)
    elif code == "CRI010":  # criu says nothing when it drops the locks
        assert all(f["fix"] == "restore with --file-locks" for f in named)
    else:
        assert any(q and q in decisive for q in quoted), (quoted, decisive)
