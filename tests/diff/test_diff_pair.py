"""diff on the real pair (pair-1, pair-2: two dumps of the same running process 5 s apart).

MANIFEST: core (regs), pages-1.img, inventory (dump_criu_run_id), timens and
stats-dump change; files/mm/pagemap/pstree are identical. The diff must say
exactly that: the VMAs whose pages changed with the page and byte counts
computed independently (tests/diff_expect.py), and nothing else.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from inspector.diff import DiffOptions, diff_checkpoints
from inspector.diff.result import summary_line

from ..conftest import corpus_dir
from ..diff_expect import expected_page_diff, result_page_diff

PID = 24822


@pytest.fixture(scope="module")
def pair():
    return corpus_dir("pair-1"), corpus_dir("pair-2")


@pytest.fixture(scope="module")
def expected(pair):
    exp = expected_page_diff(*pair, PID)
    # the truth, as read by hand from the pair: 5 VMAs, 20 pages, 65547 bytes (= `cmp -l | wc -l`)
    assert sum(v["pages_changed"] for v in exp.values()) == 20
    assert sum(v["bytes_differ"] for v in exp.values()) == 65547
    return exp


@pytest.mark.parametrize("use_numpy", [True, False], ids=["numpy", "python"])
def test_pair_pages_counted_per_vma(pair, expected, use_numpy):
    r = diff_checkpoints(*pair, DiffOptions(use_numpy=use_numpy))
    assert [p.pid for p in r.processes] == [PID]
    p = r.processes[0]
    assert p.status == "changed"
    assert result_page_diff(p) == expected
    assert len(p.vmas) == len(expected) == 5
    for v in p.vmas:  # only the contents changed: no VMA was resized, moved or re-protected
        assert v.status == "changed" and v.changes == [] and v.pages_added == v.pages_removed == 0
    assert p.pages_outside_vmas == 0
    assert r.summary()["bytes_differ"] == 65547


def test_pair_reports_nothing_spurious(pair):
    r = diff_checkpoints(*pair)
    p = r.processes[0]
    # files, mm, pagemap, pstree are byte-identical: no fd, VMA-structure or process-field change
    assert p.fds == [] or all(f.status == "same" for f in p.fds)
    assert p.changes == []
    # core differs in registers only, of the one thread
    assert [t.key for t in p.threads if t.status != "same"] == [f"thread {PID}"]
    regs = next(t for t in p.threads if t.status != "same")
    assert {c.category for c in regs.changes} == {"registers"}
    assert {c.field for c in regs.changes} == {"gpregs.bp", "gpregs.r12", "fpregs.xsave.hi16_zmm"}
    # inventory: the run id only; timens: the clocks; stats-dump: the stats
    assert [(c.field, c.category) for c in r.inventory] == [("dump_criu_run_id", "run-id")]
    assert [i.key for i in r.timens] == ["timens-0.img"]
    assert {c.category for c in r.timens[0].changes} == {"timestamps"}
    assert r.stats and {c.category for c in r.stats} == {"stats"}
    assert r.file_locks == r.cgroups == r.mounts == r.images == []
    assert not r.identical
    assert summary_line(r).startswith("1 process changed, 80 KiB of pages differ in 5 VMAs")


def test_pair_ignoring_volatile_categories_leaves_only_pages(pair, expected):
    r = diff_checkpoints(*pair, DiffOptions(ignore=frozenset({"registers", "stats", "timestamps", "run-id"})))
    assert r.inventory == r.stats == r.timens == []
    assert all(t.status == "same" for t in r.processes[0].threads)
    assert result_page_diff(r.processes[0]) == expected
    assert summary_line(r) == "1 process changed, 80 KiB of pages differ in 5 VMAs"
    r = diff_checkpoints(*pair, DiffOptions(ignore=frozenset({"registers", "stats", "timestamps", "run-id", "pages"})))
    assert r.identical and r.processes[0].status == "same"


def test_pair_json_contract(pair, expected, cli):
    """What scripts rely on: version, identical, processes[].pid/status/vmas[].start/end/status/pages_changed."""
    proc = cli("diff", str(pair[0]), str(pair[1]), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["version"] == 1 and doc["identical"] is False
    (p,) = doc["processes"]
    assert p["pid"] == PID and p["status"] == "changed"
    got = {(v["start"], v["end"]): v["pages_changed"] for v in p["vmas"]}
    assert got == {k: v["pages_changed"] for k, v in expected.items()}
    assert all(v["status"] == "changed" for v in p["vmas"])
    assert doc["summary"]["pages_changed"] == 20


def test_pair_bytes_match_cmp(pair):
    """The byte count is the one `cmp -l` gives on the two pages files (pagemaps are identical)."""
    out = subprocess.run(
        f"cmp -l {pair[0]}/pages-1.img {pair[1]}/pages-1.img | wc -l", shell=True, capture_output=True, text=True
    )
    r = diff_checkpoints(*pair)
    assert r.summary()["bytes_differ"] == int(out.stdout.strip())


def test_pair_text_tree(pair, cli):
    proc = cli("diff", str(pair[0]), str(pair[1]), "--pages", "--max-hunks", "2")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("1 process changed, 80 KiB of pages differ in 5 VMAs")
    assert "~ 0x56025b888000-0x56025b898000 rw-p [anon]: 16 pages differ (61568 bytes)" in proc.stdout
    assert "~ 0x7fffe439a000-0x7fffe43bb000 rw-p [stack]: 1 page differs (9 bytes)" in proc.stdout
    assert proc.stdout.count("@@ 0x") == 2  # bounded by --max-hunks
    # the first hunk: the first differing bytes of the first changed page, both sides
    assert "- 0x56025b887080  01 01 01 01" in proc.stdout
    assert "+ 0x56025b887080  07 07 07 07" in proc.stdout
