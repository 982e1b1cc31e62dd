"""criu-inspect grep and inspector.memsearch on real images."""

from __future__ import annotations

import json

from inspector.memsearch import hexdump, search
from inspector.model.checkpoint import Checkpoint
from tests.conftest import corpus_dir
from tests.synth import make_predump_chain


def test_search_finds_argv_and_exe_path_on_the_stack():
    cp = Checkpoint(corpus_dir("plain"))
    proc = cp.processes[0]
    hits = list(search(cp, "/tmp/criu-work/bin/ticker"))
    # argv[0] at mm_arg_start, and the AT_EXECFN copy after the environment
    assert [h.addr for h in hits][0] == proc.mm["mm_arg_start"]
    assert len(hits) == 2 and hits[1].addr == proc.mm["mm_env_end"]
    for h in hits:
        assert h.pid == 14055 and h.length == len("/tmp/criu-work/bin/ticker")
        assert h.vma_label == "[stack]"
        assert (h.vma.start, h.vma.end) == (0x7FFC2C1A2000, 0x7FFC2C1C3000)
        assert h.vma.start <= proc.mm["mm_start_stack"] < h.vma.end
        assert b"/tmp/criu-work/bin/ticker" in h.context


def test_regex_and_pid_filter_on_a_tree():
    cp = Checkpoint(corpus_dir("tree"))
    pids = [p.pid for p in cp.processes]
    hits = list(search(cp, rb"LANG=[A-Za-z0-9.-]+", regex=True))
    assert sorted({h.pid for h in hits}) == sorted(pids)  # every process has its environment
    only = list(search(cp, "LANG=C.UTF-8", pids=[pids[1]]))
    assert {h.pid for h in only} == {pids[1]}
    for h in only:
        proc = cp.process(h.pid)
        assert proc.mm["mm_env_start"] <= h.addr < proc.mm["mm_env_end"]


def test_hits_in_parent_chain_pages(tmp_path):
    src = corpus_dir("plain")
    make_predump_chain(src, tmp_path / "child", 14055, every=1)
    cp = Checkpoint(tmp_path / "child")
    hits = list(search(cp, "HOME=/tmp/criu-work/home"))
    assert len(hits) == 1 and hits[0].where == "parent"
    assert hits[0].vma_label == "[stack]"


def test_hexdump_rows():
    lines = hexdump(b"ABCDEFGHIJKLMNOPQRS", 0x100E)
    assert lines[0].startswith("0000000000001000") and lines[0].endswith("|              AB|")
    assert lines[1].endswith("|CDEFGHIJKLMNOPQR|")
    assert lines[2].startswith("0000000000001020  53 ")


def test_cli_found_text(cli):
    r = cli("grep", str(corpus_dir("plain")), "/tmp/criu-work/bin/ticker", "--context", "8")
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first == "pid 14055 (ticker) 0x7ffc2c1c2f7c len 25 in 7ffc2c1a2000-7ffc2c1c3000 rw- [stack] +0x20f7c"
    assert "|/criu-work/bin/t|" in r.stdout


def test_cli_json(cli):
    r = cli("grep", str(corpus_dir("plain")), "PATH=", "--format", "json", "--pid", "14055")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["count"] == 1
    hit = data["hits"][0]
    assert hit["address"] == 0x7FFC2C1C2F96 and hit["vma"]["label"] == "[stack]"
    assert bytes.fromhex(hit["context_hex"]).find(b"PATH=/usr/local/bin") >= 0


def test_cli_not_found_and_errors(cli):
    d = str(corpus_dir("plain"))
    r = cli("grep", d, "no-such-string-in-memory")
    assert r.returncode == 1 and r.stdout == ""
    r = cli("grep", d, "(", "--regex")
    assert r.returncode == 2 and r.stderr.startswith("criu-inspect: error: bad regular expression")
    r = cli("grep", d, "x", "--pid", "1")
    assert r.returncode == 2 and "no process 1" in r.stderr
    r = cli("grep", d + "-missing", "x")
    assert r.returncode == 2 and "no such directory" in r.stderr


def test_cli_truncated_pages_file_is_one_line_error(cli, writable_copy):
    """pages-1.img cut short (a copy): the search cannot read what the pagemap promises -> exit 2, one line."""
    d = writable_copy("plain")
    with open(d / "pages-1.img", "r+b") as fh:
        fh.truncate(4096)
    r = cli("grep", str(d), "/tmp/criu-work/bin/ticker")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines and all(line.startswith("criu-inspect: error: ") for line in lines)
    assert "pages-1.img" in r.stderr and "shorter" in r.stderr
    assert "Traceback" not in r.stderr
