"""The Hyperscan scanner agrees with the pure-Python reference, address for address.

Every test here compares the fast path (``scanner.find``, ``secrets.scan_process``,
``memsearch`` literal search) with what the reference finds on the same bytes:
the secrets planted across pages, across chunks (the chunk size shrunk to a
few pages), across the boundary of two VMAs whose runs are neighbours in
memory, across a present run and a run of the pre-dump parent (the bridge
between two pages files), and random memory with needles at random places.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from inspector import scanner, secrets
from inspector.memsearch import compile_pattern, search, search_process
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE
from inspector.pages import Extent, PagesFile
from tests.checks.test_secrets import FAKE_AWS, FAKE_PEM, make_secrets_case, patch_memory
from tests.synth import make_predump_chain

pytestmark = pytest.mark.skipif(not scanner.available(), reason="pyperscan (Hyperscan) cannot load on this machine")

PID = 14055  # plain's process
# plain: a 2-page run (the binary's last two VMAs) followed at once by a 16-page anonymous run
SEAM = 0x5601616B8000
NEEDLES = [
    b"\0DB_PASSWORD=" + b"x" * 300 + b"\0",
    b"\0db_Api_Key=s3cr3t\0",
    b"\0TOKENIZERS_PARALLELISM=false\0",  # named like a secret, but is not one
    b" " + FAKE_AWS + b" ",
    b"XAKIAIOSFODNN7EXAMPLE ",  # glued to a word: not a key
    FAKE_PEM[:400] + b"-----END RSA PRIVATE KEY-----",
    b" xoxb-1234567890-abcdefghij ",
    b" ghp_" + b"A1b2" * 9 + b" ",
    b'"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n" ',
]


def reference_secrets(cp: Checkpoint, pid: int) -> list:
    return list(secrets.scan_process_reference(cp, pid))


def fast_secrets(cp: Checkpoint, pid: int) -> list:
    return list(secrets.scan_process(cp, pid))


@pytest.fixture(params=[None, 3 * PAGE_SIZE + 5], ids=["chunk-16M", "chunk-3pages+5"])
def chunk(request, monkeypatch):
    """The default chunk, and one so small that every run is cut into several chunks at odd offsets."""
    if request.param:
        monkeypatch.setattr(scanner, "CHUNK", request.param)
        monkeypatch.setattr(scanner, "_INLINE", 0)  # threads even for a small checkpoint
    return request.param


# ---- the literal finder ---------------------------------------------------------------------------------


def all_occurrences(data: bytes, literals: list[bytes], caseless: list[bool]) -> list[tuple[int, int]]:
    out = []
    for i, (lit, nocase) in enumerate(zip(literals, caseless)):
        rx = re.compile(b"(?=" + re.escape(lit) + b")", re.IGNORECASE if nocase else 0)
        out.extend((m.start(), i) for m in rx.finditer(data))
    return sorted(out)


def test_find_reports_every_occurrence_across_chunks_files_and_bridges(tmp_path, monkeypatch):
    """Extents in three files, some neighbours in memory (bridged), chunks of odd sizes, one and two threads."""
    rnd = random.Random(11)
    literals = [b"AKIA", b"ACCA", b"-----BEGIN ", b"password", b"\0\0x"]
    caseless = [False, False, False, True, False]
    files, extents, memory = [], [], {}
    addr = 0x10000
    for f in range(3):
        data = bytearray(rnd.randbytes(PAGE_SIZE * 9))
        for _ in range(40):
            lit = rnd.choice(literals)
            lit = lit.upper() if rnd.random() < 0.3 else lit
            at = rnd.randrange(0, len(data) - len(lit))
            data[at : at + len(lit)] = lit
        # a literal across every page boundary of the file
        for p in range(1, 9):
            data[p * PAGE_SIZE - 2 : p * PAGE_SIZE + 2] = b"ACCA"
        path = tmp_path / f"pages-{f}.img"
        path.write_bytes(bytes(data))
        pf = PagesFile(str(path))
        files.append(pf)
        for first, count in ((0, 2), (2, 4), (6, 3)):
            extents.append((pf, first, count, bytes(data[first * PAGE_SIZE : (first + count) * PAGE_SIZE])))
    rnd.shuffle(extents)
    spans_in = []
    for i, (pf, first, count, blob) in enumerate(extents):
        if i % 3 == 0:
            addr += PAGE_SIZE * 5  # a hole: a new span
        spans_in.append(Extent(addr, count * PAGE_SIZE, "present", pf, first * PAGE_SIZE))
        memory[addr] = blob
        addr += count * PAGE_SIZE
    spans = scanner.spans_of(spans_in)
    assert len(spans) == 3 and all(len(s.extents) == 3 for s in spans)
    expected = []
    for span in spans:
        data = b"".join(memory[e.addr] for e in span.extents)
        expected += [(span.start + at, i) for at, i in all_occurrences(data, literals, caseless)]
    expected.sort()
    assert any(e[1] == 3 for e in expected) and len(expected) > 100
    lits = scanner.LiteralSet(literals, caseless)
    for chunk in (16 << 20, PAGE_SIZE, 2 * PAGE_SIZE + 3):
        monkeypatch.setattr(scanner, "CHUNK", chunk)
        monkeypatch.setattr(scanner, "_INLINE", 0)
        for workers in (1, 2):
            assert scanner.find(lits, spans, workers=workers) == expected, (chunk, workers)
    for pf in files:
        pf.close()


def test_literal_set_refuses_what_it_cannot_bridge():
    with pytest.raises(ValueError):
        scanner.LiteralSet([b""])
    with pytest.raises(ValueError):
        scanner.LiteralSet([b"x" * (scanner.MAX_LITERAL + 1)])


# ---- secrets --------------------------------------------------------------------------------------------


def test_secrets_case_equals_reference(writable_copy, chunk):
    cp_dir, pid, _ = make_secrets_case(writable_copy)
    cp = Checkpoint(cp_dir)
    fast = fast_secrets(cp, pid)
    assert [h.kind for h in fast] == ["pem", "env", "env"]
    assert fast == reference_secrets(cp, pid)


def plant_across_seam(cp_dir: Path) -> dict[str, int]:
    """Secrets across the seam of two runs (and two VMAs) that are neighbours in memory, and across pages."""
    spots = {
        "aws": (SEAM - 9, b" " + FAKE_AWS + b" "),
        "env": (SEAM + 3 * PAGE_SIZE - 20, b"\0GITHUB_TOKEN=" + b"t" * 40 + b"\0"),
        "pem": (SEAM + 8 * PAGE_SIZE - 300, FAKE_PEM[:900] + b"-----END RSA PRIVATE KEY-----"),
    }
    for addr, data in spots.values():
        patch_memory(cp_dir, PID, addr, data)
    return {k: a for k, (a, _) in spots.items()}


def test_secrets_across_neighbouring_runs_and_vmas(writable_copy, chunk):
    cp_dir = writable_copy("plain")
    at = plant_across_seam(cp_dir)
    cp = Checkpoint(cp_dir)
    seam_span = next(s for s in scanner.spans_of(cp.page_reader(PID).extents()) if s.start < SEAM < s.end)
    assert seam_span.extent_at(SEAM).addr < SEAM  # two runs, neighbours in memory and in the file: one extent
    fast = fast_secrets(cp, PID)
    assert fast == reference_secrets(cp, PID)
    starts = {h.kind: h.start for h in fast}
    assert starts["aws"] == at["aws"] + 1  # begins in the binary's rw- VMA, ends in the anonymous one
    assert starts["env"] == at["env"] + 1 and starts["pem"] == at["pem"]


def test_secrets_across_a_present_and_a_parent_run(writable_copy, tmp_path, chunk):
    """Every other run moved into the pre-dump parent: the seam joins two pages files (the bridge)."""
    src = writable_copy("plain")
    at = plant_across_seam(src)
    make_predump_chain(src, tmp_path / "child", PID, every=2)
    cp = Checkpoint(tmp_path / "child")
    runs = {r.start: r for r in cp.pagemap(PID).runs}
    assert bool(runs[SEAM - 2 * PAGE_SIZE].file_offset < 0) != bool(runs[SEAM].file_offset < 0)
    fast = fast_secrets(cp, PID)
    assert fast == reference_secrets(cp, PID)
    aws = next(h for h in fast if h.kind == "aws")
    assert aws.start == at["aws"] + 1
    assert {h.where for h in fast} == {"present", "parent"}


@pytest.mark.parametrize("seed", range(6))
def test_random_memory_with_needles(writable_copy, monkeypatch, seed):
    """The anonymous run and the stack filled with random bytes and needles at random places."""
    rnd = random.Random(seed)
    monkeypatch.setattr(scanner, "CHUNK", rnd.choice([PAGE_SIZE, 5 * PAGE_SIZE + 7, 16 << 20]))
    monkeypatch.setattr(scanner, "_INLINE", 0)
    cp_dir = writable_copy("plain")
    cp = Checkpoint(cp_dir)
    runs = [r for r in cp.pagemap(PID).runs if r.nr_pages >= 4]
    cp.close()
    planted = 0
    for run in runs:
        data = bytearray(rnd.randbytes(run.nr_pages * PAGE_SIZE))
        for _ in range(run.nr_pages):
            needle = rnd.choice(NEEDLES)
            at = rnd.randrange(0, len(data) - len(needle))
            data[at : at + len(needle)] = needle
            planted += 1
        patch_memory(cp_dir, PID, run.start, bytes(data))
    cp = Checkpoint(cp_dir)
    fast = fast_secrets(cp, PID)
    assert fast == reference_secrets(cp, PID)
    assert len(fast) >= planted // 4, (len(fast), planted)


def test_short_pages_file_reports_what_lies_before(writable_copy):
    """A pages file cut 10 pages into the 16-page run: the scan reports the secrets in the pages before the
    cut, then raises. (The reference reads a run in slices of up to 256 pages and loses the whole slice.)"""
    cp_dir = writable_copy("plain")
    plant_across_seam(cp_dir)
    pages = cp_dir / "pages-1.img"
    cp = Checkpoint(cp_dir)
    cut = next(r for r in cp.pagemap(PID).runs if r.start == SEAM).file_offset + 10 * PAGE_SIZE
    cp.close()
    with open(pages, "r+b") as fh:
        fh.truncate(cut)
    results = []
    for scan in (secrets.scan_process, secrets.scan_process_reference):
        cp = Checkpoint(cp_dir)
        got = []
        with pytest.raises(Exception, match="shorter"):
            for hit in scan(cp, PID):
                got.append(hit)
        results.append(got)
        cp.close()
    fast, reference = results
    assert set(reference) <= set(fast)
    assert {h.kind for h in fast} == {"aws", "env", "pem"}


# ---- grep -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, nocase",
    [("AKIAIOSFODNN7EXAMPLE", False), ("akiaiosfodnn7", True), ("x", False), ("/bin", False), ("LANG=", True)],
)
def test_grep_literal_equals_regex_path(writable_copy, tmp_path, text, nocase, chunk):
    src = writable_copy("plain")
    plant_across_seam(src)
    make_predump_chain(src, tmp_path / "child", PID, every=2)
    cp = Checkpoint(tmp_path / "child")
    rx = compile_pattern(text, ignore_case=nocase)
    fast = [(h.addr, h.length, h.where, h.context) for h in search(cp, text, ignore_case=nocase)]
    slow = [
        (h.addr, h.length, h.where, h.context) for h in search_process(cp, PID, rx, literal_length=len(text.encode()))
    ]
    assert fast == slow and fast


def test_without_hyperscan_the_reference_runs(writable_copy, monkeypatch):
    """Where Hyperscan cannot load, secrets and grep fall back to the pure-Python path with the same results."""
    cp_dir = writable_copy("plain")
    plant_across_seam(cp_dir)
    cp = Checkpoint(cp_dir)
    fast = fast_secrets(cp, PID)
    hits = [(h.addr, h.where) for h in search(cp, "AKIAIOSFODNN7")]
    monkeypatch.setattr(scanner, "_engine", lambda: None)
    assert not scanner.available()
    assert fast_secrets(cp, PID) == fast and len(fast) == 3
    assert [(h.addr, h.where) for h in search(cp, "AKIAIOSFODNN7")] == hits and len(hits) == 1


# ---- prefetch: the whole-file scan that starts before the checkpoint is decoded --------------------------


def test_prefetch_result_is_used_and_equals_the_reference(writable_copy, chunk):
    cp_dir = writable_copy("plain")
    plant_across_seam(cp_dir)
    try:
        secrets.prefetch(str(cp_dir))
        cp = Checkpoint(cp_dir)
        fast = fast_secrets(cp, PID)
        file_scan = secrets._literal_set().file_scan
        assert file_scan is not None and file_scan.occurrences(str(cp_dir / "pages-1.img"))
    finally:
        scanner.end_prefetch()
    assert secrets._literal_set().file_scan is None
    assert fast == reference_secrets(cp, PID) and len(fast) == 3


def test_prefetch_of_a_file_changed_since_is_not_used(writable_copy):
    """A pages file written after the prefetch scanned it (new mtime) is scanned again, not trusted."""
    cp_dir = writable_copy("plain")
    try:
        secrets.prefetch(str(cp_dir))
        scanner.wait_prefetch()
        plant_across_seam(cp_dir)
        cp = Checkpoint(cp_dir)
        fast = fast_secrets(cp, PID)
    finally:
        scanner.end_prefetch()
    assert fast == reference_secrets(cp, PID) and len(fast) == 3


def test_check_and_grep_commands_with_prefetch(writable_copy, cli):
    import json

    cp_dir = writable_copy("plain")
    at = plant_across_seam(cp_dir)
    report = json.loads(cli("check", str(cp_dir), "--select", "CRI050", "--format", "json").stdout)
    found = sorted(f["details"]["address"] for f in report["findings"])
    assert found == sorted(h.start for h in reference_secrets(Checkpoint(cp_dir), PID))
    assert at["aws"] + 1 in found
    out = cli("grep", str(cp_dir), "AKIAIOSFODNN7EXAMPLE", "--format", "json")
    assert out.returncode == 0 and [h["address"] for h in json.loads(out.stdout)["hits"]] == [at["aws"] + 1]
