"""The headless half of the TUI (tui.model): rows, masking and the lazy hex document, on real checkpoints."""

from __future__ import annotations

import pytest

from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE
from inspector.report.redact import MASK, mask_env_entry
from tests.conftest import corpus_dir
from tui.model.hexdoc import HexDocument, hex_text, parse_needle
from tui.model.rows import fd_cells, overview_sections, shorten_middle, tree_label, vma_cells
from tui.model.session import load_session


def test_env_secrets_masked():
    assert mask_env_entry("GITHUB_TOKEN=ghp_abc") == f"GITHUB_TOKEN={MASK}"
    assert mask_env_entry("DB_PASSWORD=hunter2") == f"DB_PASSWORD={MASK}"
    assert mask_env_entry("DATABASE_URL=postgres://app:s3cret@db/prod") == f"DATABASE_URL=postgres://app:{MASK}@db/prod"
    assert mask_env_entry("PATH=/usr/bin:/bin") == "PATH=/usr/bin:/bin"
    assert mask_env_entry("SSH_AUTH_SOCK=/run/agent") == "SSH_AUTH_SOCK=/run/agent"
    assert mask_env_entry("OLDPWD=/home/x") == "OLDPWD=/home/x"


def test_overview_of_real_process_masks_an_injected_secret():
    """The real tree root's environment, plus a secret appended to the decoded model (no image changed)."""
    cp = Checkpoint(corpus_dir("tree"))
    proc = cp.process(15783)
    proc.environ = [*proc.environ, "API_KEY=sk-live-1234"]
    sections = dict(overview_sections(proc))
    assert "PATH=/usr/local/bin:/usr/bin:/bin" in sections["environment"]
    assert f"API_KEY={MASK}" in sections["environment"]
    assert not any("sk-live-1234" in line for lines in sections.values() for line in lines)
    assert sections["process"][0].startswith("pid 15783  ppid 0  pgid 15783  sid 15783")
    assert "threads 2: 15783 15788" in sections["process"][1]
    assert sections["cmdline"] == ["/tmp/criu-work/bin/tree"]
    assert sections["namespaces"][0].startswith("pid 1  net 2")
    # the one policy of every output: narrow names (a session bus address is no secret), S reveals
    proc.environ += ["DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus", "XDG_SESSION_ID=3"]
    env = dict(overview_sections(proc))["environment"]
    assert "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus" in env and "XDG_SESSION_ID=3" in env
    assert env[-1] == "(values named like secrets masked: S shows them)"
    assert "API_KEY=sk-live-1234" in dict(overview_sections(proc, show_secrets=True))["environment"]


def test_rows_of_real_process():
    cp = Checkpoint(corpus_dir("tree"))
    proc = cp.process(15787)
    assert tree_label(proc) == "15787 tree (3t)"
    assert tree_label(proc, findings=2) == "15787 tree (3t) !2"
    assert [fd_cells(fd) for fd in proc.fds][1] == (
        "1",
        "REG",
        "WRONLY|LARGEFILE",
        "158",
        "/tmp/criu-work/data/tree/out",
    )
    first = vma_cells(proc.vmas[0])
    assert first[0] == f"{proc.vmas[0].start:x} +4K" and first[1] == "r--" and first[5] == "/tmp/criu-work/bin/tree"


def _vma_with_present(cp, pid, minimum=1):
    return next(v for v in cp.process(pid).vmas if v.pages_present >= minimum)


def test_hex_document_bytes_equal_page_reader():
    cp = Checkpoint(corpus_dir("tree"))
    vma = _vma_with_present(cp, 15783)
    reader = cp.page_reader(15783)
    doc = HexDocument(reader, vma)
    content = [i for i in range(doc.line_count) if doc.line(i).data is not None]
    assert len(content) == 256 * (vma.pages_present + vma.pages_in_parent)
    for i in content[:300]:
        line = doc.line(i)
        assert line.data == reader.read(line.addr, 16, fill=None)
        assert hex_text(line).startswith(f"{line.addr:012x}  {line.data[0]:02x} ")


def test_hex_document_reads_pages_lazily_and_bounded():
    """The jvm heap VMA (thousands of pages): opening it reads nothing, a line reads one page, the cache stays bounded."""
    cp = Checkpoint(corpus_dir("jvm"))
    proc = cp.processes[0]
    vma = max(proc.vmas, key=lambda v: v.pages_present)
    assert vma.pages_present > 100
    doc = HexDocument(cp.page_reader(proc.pid), vma, cache_pages=8)
    assert doc.page_reads == 0
    lines = [i for i, s in enumerate(doc.segments) if s.where == "content"]
    seg = doc.segments[lines[0]]
    doc.line(seg.first_line)
    doc.line(seg.first_line + 1)
    assert doc.page_reads == 1
    for k in range(20):  # 20 different pages
        doc.line(seg.first_line + k * PAGE_SIZE // 16)
    assert doc.page_reads == 20
    assert len(doc._cache) == 8


def _all_matches(doc: HexDocument, needle: bytes) -> list[int]:
    """Every address of ``needle`` in the VMA's known bytes, found the slow way: whole spans, one regex-free scan."""
    found = []
    for start, end in doc._content_spans():
        data = doc.reader.read(start, end - start, fill=None)
        at = data.find(needle)
        while at >= 0:
            found.append(start + at)
            at = data.find(needle, at + 1)
    return found


@pytest.mark.parametrize("chunk", [HexDocument.SEARCH_CHUNK, PAGE_SIZE + 3])
def test_hex_search_finds_every_match_forwards_and_backwards(chunk):
    """The jvm heap's bytes: walking n and N visits exactly the matches a whole-span scan finds, across chunk seams."""
    cp = Checkpoint(corpus_dir("jvm"))
    proc = cp.processes[0]
    vma = max(proc.vmas, key=lambda v: v.pages_present)
    doc = HexDocument(cp.page_reader(proc.pid), vma)
    doc.SEARCH_CHUNK = chunk
    spans = doc._content_spans()
    start, end = spans[0]
    # a needle taken from the middle of the memory, straddling a page (and, with the small chunk, a chunk) seam
    needle = doc.reader.read(start + 2 * PAGE_SIZE - 5, 10, fill=None)
    expected = _all_matches(doc, needle)
    assert start + 2 * PAGE_SIZE - 5 in expected
    forwards, addr = [], vma.start - 1
    while (addr := doc.find(needle, addr)) is not None:
        forwards.append(addr)
    assert forwards == expected
    backwards, addr = [], vma.end
    while (addr := doc.find(needle, addr, backwards=True)) is not None:
        backwards.append(addr)
    assert backwards == expected[::-1]
    assert doc.find(b"\xfe\xed\xfa\xce-criu-inspect-absent-needle", vma.start - 1) is None


def test_hex_search_never_matches_across_pages_not_in_the_images():
    """tree pid 15783: a needle made of the bytes either side of a hole is not found (the hole holds no known bytes)."""
    cp = Checkpoint(corpus_dir("tree"))
    for vma in cp.process(15783).vmas:
        doc = HexDocument(cp.page_reader(15783), vma)
        spans = doc._content_spans()
        if len(spans) >= 2:
            break
    else:
        pytest.skip("no VMA of tree with two runs of pages apart")
    (_, a_end), (b_start, _) = spans[0], spans[1]
    needle = doc.reader.read(a_end - 4, 4, fill=None) + doc.reader.read(b_start, 4, fill=None)
    assert b_start > a_end  # a real hole between the two runs
    expected = _all_matches(doc, needle)  # within runs only
    hit = doc.find(needle, a_end - 9)
    assert hit == next((m for m in expected if m > a_end - 9), None)
    assert hit is None or not a_end - 8 < hit < b_start


def test_parse_needle():
    assert parse_needle("0xdeadbeef") == bytes.fromhex("deadbeef")
    assert parse_needle("0x123") == bytes.fromhex("0123")
    assert parse_needle("de ad be ef") == bytes.fromhex("deadbeef")
    assert parse_needle("deadbeef") == b"deadbeef"
    assert parse_needle('"de ad"') == b"de ad"
    assert parse_needle("JAVA_HOME=") == b"JAVA_HOME="
    with pytest.raises(ValueError):
        parse_needle("0xnothex")


def test_shorten_middle_keeps_the_file_name():
    """Two fds on the same folder, told apart by their ends, stay apart when cut."""
    a = "/home/user/.cache/mesa_shader_cache_db/part1/mesa_cache.db"
    b = "/home/user/.cache/mesa_shader_cache_db/part1/mesa_cache.idx"
    short_a, short_b = shorten_middle(a, 30), shorten_middle(b, 30)
    assert len(short_a) == len(short_b) == 30
    assert short_a != short_b
    assert short_a.endswith("/mesa_cache.db") and short_a.startswith("/home") and "…" in short_a
    assert shorten_middle(a, len(a)) == a
    assert shorten_middle("abcdefghij", 5) == "ab…ij"
    assert shorten_middle("abc", 1) == "…" and shorten_middle("abc", 0) == ""


def test_hex_document_summarises_pages_not_in_images():
    cp = Checkpoint(corpus_dir("tree"))
    vma = next(v for v in cp.process(15783).vmas if v.pages_present == 0 and v.pages_lazy == 0 and v.size == PAGE_SIZE)
    doc = HexDocument(cp.page_reader(15783), vma)
    assert doc.line_count == 1
    assert hex_text(doc.line(0)) == f"{vma.start:012x}  -- 1 page not in the images --"


def test_load_session_reports_progress_in_steps():
    seen = []
    session = load_session(str(corpus_dir("tree")), progress=lambda done, total, what: seen.append((done, total)))
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1]
    assert [p.pid for _, p, _ in session.tree_rows()] == [15783, 15785, 15786, 15787]


def test_load_session_bad_directory_raises_inspect_error(tmp_path):
    from inspector.errors import InspectError

    with pytest.raises(InspectError):
        load_session(str(tmp_path))
