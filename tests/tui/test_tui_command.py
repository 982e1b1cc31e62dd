"""`criu-inspect tui` as a user runs it: in a real terminal (tmux), without Textual, on bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, SAMPLES


def test_missing_textual_is_one_line_exit_2():
    code = (
        "import sys\n"
        "sys.modules['textual'] = None  # as if the tui extra were not installed\n"
        "from inspector.cli import main\n"
        f"sys.exit(main(['tui', {str(SAMPLES / 'tree')!r}]))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("criu-inspect: error: the TUI needs Textual")
    assert "Traceback" not in proc.stderr


def test_bad_directory_is_one_line_exit_2(cli, tmp_path):
    proc = cli("tui", str(tmp_path))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"criu-inspect: error: {tmp_path}: not a CRIU checkpoint: no inventory.img and no image files"
    )


def test_no_terminal_is_refused(cli):
    proc = cli("tui", str(SAMPLES / "tree"))
    assert proc.returncode == 2
    assert "tui needs a terminal" in proc.stderr


class Tmux:
    """A private tmux server (own socket) running one command; torn down by the test."""

    def __init__(self, command: str, width: int = 100, height: int = 30):
        self.socket = f"criu-inspect-test-{os.getpid()}-{time.monotonic_ns()}"
        self._run("new-session", "-d", "-x", str(width), "-y", str(height), command)

    def _run(self, *args) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30).stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self._run("send-keys", *keys)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on screen after {timeout}s:\n{screen}")

    def close(self) -> None:
        self._run("kill-server")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_smoke_in_tmux():
    """The real command in a real terminal: the tree, the verdict and a finding are drawn, keys work, q quits with 0."""
    # tmux exports the pane's first size as COLUMNS/LINES, which Textual would believe over the window's
    command = (
        f"cd {ROOT} && unset COLUMNS LINES && PYTHONPATH={ROOT} {sys.executable} -m inspector tui sample-images/tree; "
        "echo EXIT=$?; sleep 60"
    )
    tmux = Tmux(command)
    try:
        screen = tmux.wait_for("15787 tree (3t)")
        for pid in ("15783 tree (2t)", "15785 tree (1t)", "15786 tree (1t)"):
            assert pid in screen
        assert "pid 15783  ppid 0" in screen
        tmux.keys("2")
        screen = tmux.wait_for("/tmp/criu-work/data/tree/out")
        assert "BLOCKED for unprivileged restore" in screen  # the verdict of `criu-inspect check`
        # the mark of a process with findings: CRI005, CRI007, CRI008 (a non-root restorer is assumed)
        assert "15787 tree (3t) !3" in screen
        tmux.keys("4")
        screen = tmux.wait_for("CRI007")
        assert "pid 15787" in screen
        tmux.keys("q")
        tmux.wait_for("EXIT=0")
    finally:
        tmux.close()


def test_bad_second_directory_names_it(cli, tmp_path):
    missing = tmp_path / "nope"
    proc = cli("tui", str(SAMPLES / "pair-1"), str(missing))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"criu-inspect: error: {missing}: no such directory"


def test_diff_flags_need_a_second_checkpoint(cli):
    proc = cli("tui", str(SAMPLES / "tree"), "--match", "tree")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "criu-inspect: error: --match and --ignore need a second checkpoint (diff mode)"
