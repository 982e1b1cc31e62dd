"""The command line as users and scripts meet it: pipes, colour, views, JSON, start-up imports.

Expected values are read from the real images independently of the model
(``open_image`` on pstree/mm/pagemap files) or come from the corpus MANIFEST.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import pytest

from inspector.codec.image import open_image
from inspector.model.names import PAGE_SIZE, PE_PRESENT
from inspector.pages import effective_flags, page_count

from ..conftest import ROOT, corpus_dir

PY = sys.executable
SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def env_with_root(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("NO_COLOR", None)
    env.pop("CRIU_INSPECT_DEBUG", None)
    env.update(extra)
    return env


def pstree_entries(d):
    return [e.message for e in open_image(d / "pstree.img").entries]


def vma_ranges(d, pid) -> list[tuple[int, int]]:
    mm = open_image(d / f"mm-{pid}.img").entries[0].message
    return [(v.start, v.end) for v in mm.vmas]


def present_pages(d, pid) -> int:
    entries = open_image(d / f"pagemap-{pid}.img").entries[1:]
    return sum(page_count(e.message) for e in entries if effective_flags(e.message) & PE_PRESENT)


# --- pipes ----------------------------------------------------------------------


def test_show_into_head_ends_quietly():
    """`show --format json | head -1` on jvm (76 KB of JSON, more than a pipe holds): crit 3.17 prints a traceback here."""
    d = corpus_dir("jvm")
    script = f'"{PY}" -m inspector show "{d}" --format json | head -1; echo "status ${{PIPESTATUS[0]}}" >&2'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env_with_root(), timeout=120)
    assert result.stdout == "{\n"
    assert result.stderr == "status 0\n"


@pytest.mark.parametrize("args", [(), ("--format", "json"), ("mems",), ("env",)])
def test_reader_gone_before_the_first_write(args):
    """The reading end closed before anything is written: every write fails with EPIPE; still quiet."""
    d = corpus_dir("tree")
    proc = subprocess.Popen(
        [PY, "-m", "inspector", "show", str(d), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_with_root(),
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert err == b""
    assert proc.returncode == 0


# --- colour -----------------------------------------------------------------------


def run_on_terminal(args, **env) -> bytes:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [PY, "-m", "inspector", *args], stdout=slave, stderr=subprocess.PIPE, env=env_with_root(COLUMNS="200", **env)
    )
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    proc.wait(timeout=120)
    assert proc.returncode == 0
    return out


def colour_codes(out: bytes) -> set[str]:
    """SGR parameters that set a colour (30-49, 90-107), not bold/italic."""
    found = set()
    for params in SGR.findall(out):
        for p in params.decode().split(";"):
            if p and (30 <= int(p) <= 49 or 90 <= int(p) <= 107):
                found.add(p)
    return found


def test_terminal_gets_colour_and_no_color_removes_it():
    d = str(corpus_dir("tree"))
    coloured = run_on_terminal(["show", d])
    plain = run_on_terminal(["show", d], NO_COLOR="1")
    assert colour_codes(coloured), "rich tables on a terminal carry colour"
    assert colour_codes(plain) == set()
    # same content either way
    strip = lambda b: SGR.sub(b"", b)  # noqa: E731
    assert b"/tmp/criu-work/data/tree/out" in strip(plain)
    assert strip(plain).split() == strip(coloured).split()


def test_pipe_gets_plain_text():
    d = corpus_dir("tree")
    result = subprocess.run(
        [PY, "-m", "inspector", "show", str(d)], capture_output=True, env=env_with_root(), timeout=120
    )
    assert result.returncode == 0
    assert b"\x1b[" not in result.stdout


# --- views print real values ------------------------------------------------------


def show(*args) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [PY, "-m", "inspector", "show", *map(str, args)],
        capture_output=True,
        text=True,
        env=env_with_root(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result


def test_ps_view_lists_the_tree_from_pstree():
    d = corpus_dir("tree")
    rows = [ln.split() for ln in show(d, "ps").stdout.splitlines()[1:]]
    expected = [
        [str(e.pid), str(e.ppid), str(e.pgid), str(e.sid), str(len(e.threads)), "0", "tree", "/tmp/criu-work/bin/tree"]
        for e in pstree_entries(d)
    ]
    assert rows == expected
    assert [r[0] for r in rows] == ["15783", "15785", "15786", "15787"]


def test_fds_view_shows_paths():
    d = corpus_dir("tree")
    out = show(d, "fds").stdout
    # MANIFEST: stdio of every tree process: </dev/null >out 2>&1 (position 158 at dump time)
    for pid in (15783, 15785, 15786, 15787):
        section = out.split(f"fds of {pid} (tree)")[1].split("fds of")[0]
        lines = [ln.split() for ln in section.splitlines() if ln[:1].isdigit()]
        assert [ln[:3] for ln in lines] == [
            ["0", "REG", "/dev/null"],
            ["1", "REG", "/tmp/criu-work/data/tree/out"],
            ["2", "REG", "/tmp/criu-work/data/tree/out"],
        ]
        assert lines[1][-1] == "158"


def test_mems_view_shows_every_vma_range_of_mm():
    d = corpus_dir("tree")
    out = show(d, "mems").stdout
    for pid in (15783, 15787):
        section = out.split(f"memory of {pid} (tree)")[1].split("memory of")[0]
        got = [
            tuple(int(x, 16) for x in ln.split()[:2]) for ln in section.splitlines()[2:] if re.match(r"[0-9a-f]+ ", ln)
        ]
        assert got == vma_ranges(d, pid)
        assert f"pages: {present_pages(d, pid)} present" in section


def test_env_view_reads_the_environment_from_memory():
    d = corpus_dir("jvm")
    out = show(d, "env").stdout
    assert out.splitlines()[0] == "environment of 24426 (java)"
    assert "  LANG=C.UTF-8" in out.splitlines()
    assert any(ln.startswith("  PATH=/usr/local/bin:/usr/bin:/bin") for ln in out.splitlines())


def test_images_view_identifies_files_by_magic():
    d = corpus_dir("tree")
    rows = {ln.split()[0]: ln.split()[1:] for ln in show(d, "images").stdout.splitlines()[1:]}
    assert rows["pstree.img"] == ["PSTREE", str((d / "pstree.img").stat().st_size), "4"]
    assert rows["pagemap-15787.img"][0] == "PAGEMAP"
    assert rows["pages-1.img"][:2] == ["PAGES", str((d / "pages-1.img").stat().st_size)]
    assert rows["stats-dump"][0] == "STATS"
    assert rows["dump.log"][0] == "OTHER"


# --- JSON: the keys scripts rely on -----------------------------------------------


@pytest.mark.parametrize("name", ["tree", "jvm", "tty"])
def test_show_json_has_the_documented_keys(name):
    d = corpus_dir(name)
    data = json.loads(show(d, "--format", "json").stdout)
    assert isinstance(data["version"], int) and data["version"] >= 1
    tree = pstree_entries(d)
    assert [p["pid"] for p in data["processes"]] == [e.pid for e in tree]
    for p, e in zip(data["processes"], tree):
        assert (p["ppid"], p["pgid"], p["sid"]) == (e.ppid, e.pgid, e.sid)
        assert p["threads"] == list(e.threads)
        assert isinstance(p["comm"], str) and p["comm"]
        assert isinstance(p["cmdline"], list) and p["cmdline"] and all(isinstance(a, str) for a in p["cmdline"])
        assert isinstance(p["uid"], int)
        for fd in p["fds"]:
            assert isinstance(fd["fd"], int) and isinstance(fd["type"], str)
        assert [(v["start"], v["end"]) for v in p["vmas"]] == vma_ranges(d, e.pid)
        assert all(re.fullmatch(r"[r-][w-][x-]", v["prot"]) for v in p["vmas"])
        assert set(p["pages"]) >= {"present", "lazy", "in_parent"}
        assert p["pages"]["present"] == present_pages(d, e.pid)
    pages_bytes = sum(f.stat().st_size for f in d.glob("pages-*.img"))
    assert data["summary"]["pages"]["present"] * PAGE_SIZE == pages_bytes


def test_show_json_fd_paths_and_tty():
    data = json.loads(show(corpus_dir("tty"), "--format", "json").stdout)
    fds = data["processes"][0]["fds"]
    assert [(f["fd"], f["type"], f["path"]) for f in fds] == [
        (0, "TTY", "/dev/pts/0"),
        (1, "TTY", "/dev/pts/0"),
        (2, "TTY", "/dev/pts/0"),
    ]


# --- start-up imports ---------------------------------------------------------------

HEAVY_FOR_HELP = ("pandas", "textual", "rich", "google.protobuf")
HEAVY_FOR_SHOW = ("pandas", "textual")


def imported_after(argv: list[str]) -> list[str]:
    code = (
        "import sys, io, contextlib\n"
        "from inspector.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert out.getvalue(), 'the command printed nothing'\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env_with_root(), timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def heavy(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def test_help_imports_no_heavy_module():
    modules = imported_after(["--help"])
    assert "inspector.cli" in modules
    assert heavy(modules, HEAVY_FOR_HELP) == []


def test_show_imports_neither_textual_nor_pandas():
    d = str(corpus_dir("tree"))
    for argv in (["show", d], ["show", d, "--format", "json"], [d]):
        modules = imported_after(argv)
        assert "google.protobuf" in modules  # it did decode
        assert heavy(modules, HEAVY_FOR_SHOW) == []


def test_file_names_that_are_not_utf8(writable_copy):
    """Linux file names are bytes; CRIU stores them as they are. Built from tree's files.img by
    replacing 'data' with b'd\\xffta' inside the recorded path (same length, framing intact)."""
    d = writable_copy("tree")
    files = d / "files.img"
    raw = files.read_bytes()
    assert raw.count(b"/tmp/criu-work/data/tree/out") == 1
    files.write_bytes(raw.replace(b"/tmp/criu-work/data/tree/out", b"/tmp/criu-work/d\xffta/tree/out"))
    data = json.loads(show(d, "--format", "json").stdout)
    assert data["problems"] == []
    assert data["processes"][0]["fds"][1]["path"] == "/tmp/criu-work/d\\xffta/tree/out"
    assert "/tmp/criu-work/d\\xffta/tree/out" in show(d, "fds").stdout


def test_show_pid_not_in_the_checkpoint_is_an_error(cli):
    proc = cli("show", str(corpus_dir("tree")), "--pid", "999")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"criu-inspect: error: {corpus_dir('tree')}: no process 999 in this checkpoint "
        "(its pids: 15783, 15785, 15786, 15787)"
    ]
    assert cli("show", str(corpus_dir("tree")), "--pid", "15785").returncode == 0


def test_show_header_counts_and_tree_glyphs(cli):
    from inspector.report.show_text import tree_prefixes

    assert "  1 process, 1 thread, 3 fds, 24 VMAs" in cli("show", str(corpus_dir("plain"))).stdout
    tree = cli("show", str(corpus_dir("tree"))).stdout
    assert "\n├─ 15785 tree" in tree and "\n├─ 15786 tree" in tree and "\n└─ 15787 tree" in tree

    class Walk:  # a -> b -> c, a -> d: the continuation bar runs beside b's child only
        def walk(self):
            return iter([(0, "a"), (1, "b"), (2, "c"), (1, "d")])

    assert list(tree_prefixes(Walk())) == [("", "a"), ("├─ ", "b"), ("│  └─ ", "c"), ("└─ ", "d")]
