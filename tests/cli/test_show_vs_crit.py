"""`criu-inspect show DIR --format json` against Debian's `crit x DIR ps|fds|mems|rss`.

On every corpus checkpoint, show agrees with crit 3.17 on everything crit gets
right (process tree, fd targets, cwd/root, exe, VMA ranges, protections and
backing files) and is right where crit is wrong: on CRIU 4.2 images crit's
rss reads the old pagemap field 2 and says 0 pages for every run, while our
page counts equal the sizes of the pages-N.img files.
"""

from __future__ import annotations

import contextlib
import io
import json
import os

import pytest

from inspector import cli as inspector_cli
from inspector.codec.image import open_image
from inspector.model.names import PAGE_SIZE, PE_PRESENT

from ..conftest import CORPUS, CORPUS_NAMES
from ..crit_ref import crit_explore_all, parse_fds, parse_mems, parse_ps, parse_rss, require_crit

# every checkpoint, and the failed dumps that got as far as a process tree (crit x reads those too)
FAILED = CORPUS / "_failed-dumps"
DIRS = CORPUS_NAMES + sorted(f"_failed-dumps/{d.name}" for d in FAILED.iterdir() if (d / "pstree.img").exists())


@pytest.fixture(scope="session")
def crit_x():
    require_crit()
    return crit_explore_all(tuple(str(CORPUS / name) for name in DIRS))


_shown: dict[str, dict] = {}


def show_json(name: str) -> dict:
    """`criu-inspect show DIR --format json` through the real CLI entry (in-process, cached)."""
    if name not in _shown:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = inspector_cli.main(["show", str(CORPUS / name), "--format", "json"])
        if name.startswith("_failed-dumps/"):
            # shown for what it holds, and a problem (no inventory.img): exit 2, one line on stderr
            assert code == 2 and err.getvalue().count("\n") == 1 and "no inventory.img" in err.getvalue()
        else:
            assert code == 0, err.getvalue()
        _shown[name] = json.loads(out.getvalue())
    return _shown[name]


def crit_view(crit_x, name: str, view: str) -> str:
    return crit_x[(str(CORPUS / name), view)]


@pytest.mark.parametrize("name", DIRS)
def test_process_tree_equals_crit_ps(name, crit_x):
    crit = parse_ps(crit_view(crit_x, name, "ps"))
    procs = show_json(name)["processes"]
    assert len(crit) == len(procs) >= 1
    keys = ("pid", "pgid", "sid", "comm", "ppid")
    ours = {p["pid"]: {k: p[k] for k in keys} for p in procs}
    assert {row["pid"]: row for row in crit} == ours


def _crit_fd_string(fd: dict) -> str:
    """How crit x fds names the target of one of our fds (pycriu/cli.py get_file_str)."""
    kind = fd["type"]
    if kind == "REG":
        return fd["path"]
    if kind == "PIPE":
        return f"pipe[{fd['pipe_id']}]"
    if kind == "UNIXSK":
        sock = fd["socket"]
        return f"unix[{sock['ino']} ({sock.get('peer_ino') or 0})"  # crit adds " NAME]" or "]"
    return f"{kind}.{fd['file_id']}"  # crit knows only the kind and the file id of the rest


@pytest.mark.parametrize("name", DIRS)
def test_fd_targets_equal_crit_fds(name, crit_x):
    crit = parse_fds(crit_view(crit_x, name, "fds"))
    procs = show_json(name)["processes"]
    assert sorted(crit) == sorted(p["pid"] for p in procs)
    for p in procs:
        rows = dict(crit[p["pid"]])
        assert rows.pop("cwd") == p["cwd"]
        assert rows.pop("root") == p["root"]
        assert sorted(int(fd) for fd in rows) == [fd["fd"] for fd in p["fds"]]
        for fd in p["fds"]:
            theirs, expected = rows[str(fd["fd"])], _crit_fd_string(fd)
            if fd["type"] == "UNIXSK":
                assert theirs.startswith(expected), (theirs, fd)
                name_part = theirs[len(expected) :].removesuffix("]")
                assert bool(name_part) == bool(fd["socket"].get("name")), (theirs, fd)
            else:
                assert theirs == expected, (p["pid"], fd)


def _crit_vma_label(v: dict, shm_ids: dict) -> str:
    """crit x mems's text after the protection, from our VMA (pycriu/cli.py explore_mems)."""
    status, flags = set(v["status"]), set(v["flags"])
    if "SYSVIPC" in status:
        label = " ips[{:x}]".format(shm_ids.setdefault(v["shmid"], len(shm_ids) + 1))
    elif "ANON_SHARED" in status:
        label = " shmem[{:x}]".format(shm_ids.setdefault(v["shmid"], len(shm_ids) + 1))
    elif "SOCKET" in status:
        label = " packet[{:x}]".format(shm_ids.setdefault(v["shmid"], len(shm_ids) + 1))
    elif status & {"FILE_PRIVATE", "FILE_SHARED"}:
        label = " " + v["path"]
        if v["pgoff"]:
            label += " + {:#x}".format(v["pgoff"])
        if "FILE_SHARED" in status:
            label += " (s)"
    elif "STACK" in status:
        label = " [stack]"
    elif "VSYSCALL" in status:
        label = " [vsyscall]"
    elif "VDSO" in status:
        label = " [vdso]"
    elif "MAP_GROWSDOWN" in flags:
        label = " [stack?]"
    else:
        label = ""
    if "REGULAR" not in status:
        label += " *"
    return label


@pytest.mark.parametrize("name", DIRS)
def test_vmas_equal_crit_mems(name, crit_x):
    crit = parse_mems(crit_view(crit_x, name, "mems"))
    procs = show_json(name)["processes"]
    assert sorted(crit) == sorted(p["pid"] for p in procs)
    shm_ids: dict = {}  # crit numbers shared mappings across the whole listing
    for p in procs:
        theirs = crit[p["pid"]]
        assert theirs["exe"] == p["exe"]
        assert [(v["start"], v["end"]) for v in theirs["vmas"]] == [(v["start"], v["end"]) for v in p["vmas"]]
        assert [v["prot"] for v in theirs["vmas"]] == [v["prot"] for v in p["vmas"]]
        assert [v["label"] for v in theirs["vmas"]] == [_crit_vma_label(v, shm_ids) for v in p["vmas"]]
        assert len(p["vmas"]) >= 10


@pytest.mark.parametrize("name", DIRS)
def test_page_counts_right_where_crit_rss_says_zero(name, crit_x):
    crit = parse_rss(crit_view(crit_x, name, "rss"))
    data = show_json(name)
    folder = CORPUS / name
    total = 0
    for p in data["processes"]:
        pagemap = open_image(folder / f"pagemap-{p['pid']}.img")
        head, *runs = [e.message for e in pagemap.entries]
        # crit lists the same pagemap runs (it reads the addresses right) ...
        assert [vaddr for vaddr, _ in crit[p["pid"]]] == [r.vaddr for r in runs]
        # ... but CRIU 4.2 moved the count to field 5, so crit reads 0 pages everywhere
        assert all(count == 0 for _, count in crit[p["pid"]])
        pages_file = folder / f"pages-{head.pages_id}.img"
        assert p["pages"]["present"] * PAGE_SIZE == os.path.getsize(pages_file) > 0
        assert p["pages"]["present"] == sum(r.nr_pages for r in runs if r.flags & PE_PRESENT)
        assert sum(v["pages"]["present"] for v in p["vmas"]) == p["pages"]["present"]
        total += p["pages"]["present"]
    assert data["summary"]["pages"]["present"] == total
    assert data["summary"]["bytes"] == sum(os.path.getsize(f) for f in folder.glob("pages-*.img"))


def test_crit_text_parsers_on_awkward_rows():
    """Rows made with crit's own format strings: spaces in comm and paths, 64-bit addresses."""
    ps = "%7s%7s%7s   %s\n" % ("PID", "PGID", "SID", "COMM")
    ps += "%7d%7d%7d   %s%s\n" % (1, 1, 1, "", "init")
    ps += "%7d%7d%7d   %s%s\n" % (20, 20, 1, " " * 4, "my worker")
    ps += "%7d%7d%7d   %s%s\n" % (300, 20, 1, " " * 8, "kworker/0:1 x ")
    ps += "%7d%7d%7d   %s%s\n" % (4000000, 1, 1, " " * 4, "x")
    assert [(r["pid"], r["ppid"], r["comm"]) for r in parse_ps(ps)] == [
        (1, 0, "init"),
        (20, 1, "my worker"),
        (300, 20, "kworker/0:1 x "),
        (4000000, 1, "x"),
    ]

    astr = f"{0xFFFFFFFFFF600000:08x}-{0xFFFFFFFFFF601000:08x}"
    mems = "42\n\t%-36s    %s\n" % ("exe", "/opt/my app/bin")
    mems += "\t%-36s%s%s\n" % (f"{0x1000:08x}-{0x2000:08x}", "r-x", " /opt/my app/bin + 0x1000 (s)")
    mems += "\t%-36s%s%s\n" % (astr, "--x", " [vsyscall] *")
    parsed = parse_mems(mems)
    assert parsed[42]["exe"] == "/opt/my app/bin"
    assert [(v["start"], v["prot"], v["label"]) for v in parsed[42]["vmas"]] == [
        (0x1000, "r-x", " /opt/my app/bin + 0x1000 (s)"),
        (0xFFFFFFFFFF600000, "--x", " [vsyscall] *"),
    ]

    fds = "7\n\t%7d: %s\n\t%7s: %s\n" % (3, "unix[12 (0) =00abstract]", "cwd", "/a b")
    assert parse_fds(fds) == {7: {"3": "unix[12 (0) =00abstract]", "cwd": "/a b"}}
    rss = "7\n\t%lx / %-8d %08lx / %-8d\n\t%23s ~\n" % (0x1000, 0, 0x1000, 4, "")
    assert parse_rss(rss) == {7: [(0x1000, 0)]}
