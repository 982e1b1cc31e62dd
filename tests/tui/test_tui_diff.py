"""Diff mode (`criu-inspect tui A B`) driven by keys, on the real pair and on known synthetic changes."""

from __future__ import annotations

import re

from inspector.codec.image import open_image
from inspector.diff import diff_checkpoints
from inspector.model.checkpoint import Checkpoint
from tests.conftest import corpus_dir
from tests.synth import write_image
from tests.tui.tui_driver import drive
from tui.app import InspectorApp
from tui.widgets.hexview import HexScreen, HexView
from tui.widgets.overview import Overview
from tui.widgets.process_tree import ProcessTree
from tui.widgets.tables import FdTable, VmaTable


def test_real_pair_marks_changed_vmas_with_page_counts():
    """pair-1 -> pair-2 (the same ticker dumped seconds apart): only page contents changed."""
    a, b = corpus_dir("pair-1"), corpus_dir("pair-2")
    expected = {v.start: v.pages_changed for p in diff_checkpoints(a, b).processes for v in p.vmas}
    assert expected  # the pair does differ

    async def script(app, pilot):
        tree = app.query_one(ProcessTree)
        assert str(tree.root.children[0].label).startswith("~24822 ticker (1t)")
        assert (
            app.query_one("#diff-summary")
            .render()
            .plain.startswith("diff: 1 process changed, 80 KiB of pages differ in 5 VMAs")
        )
        assert "diff (A -> B)" in app.query_one(Overview).plain
        await pilot.press("3")
        vmas = app.query_one(VmaTable)
        marks, counts, ranges = vmas.column_text(0), vmas.column_text(1), vmas.column_text(2)
        shown = {int(r.split()[0], 16): int(n) for r, n in zip(ranges, counts) if n}
        assert shown == expected
        assert {m for m, n in zip(marks, counts) if n} == {"~"}
        assert all(m == "" for m, n in zip(marks, counts) if not n)
        assert vmas.row_count == len(Checkpoint(a).process(24822).vmas)
        await pilot.press("2")
        fds = app.query_one(FdTable)
        assert fds.column_text(0) == ["", "", ""]  # fds unchanged
        assert fds.column_text(1) == ["0", "1", "2"]

    drive(InspectorApp(str(a), str(b)), script, size=(100, 30))


def test_hex_view_jumps_to_the_differing_bytes():
    """The heap of pair-1 vs pair-2 differs in one byte: `n` scrolls to it and it is the byte that differs."""
    a, b = corpus_dir("pair-1"), corpus_dir("pair-2")
    ra, rb = Checkpoint(a).page_reader(24822), Checkpoint(b).page_reader(24822)
    heap = next(v for p in diff_checkpoints(a, b).processes for v in p.vmas if v.desc.endswith("[heap]"))

    async def script(app, pilot):
        await pilot.press("3", "tab", "tab")
        vmas = app.query_one(VmaTable)
        vmas.cursor_to(vmas.key_of_vma(heap.start))
        await pilot.press("enter")
        assert isinstance(app.screen, HexScreen)
        view = app.screen.query_one(HexView)
        await pilot.press("n")
        await pilot.pause()
        top = view.doc.line(view.scroll_offset.y)
        assert top.differs, "n must stop on a line with a differing byte"
        mine, theirs = ra.read(top.addr, 16, fill=None), rb.read(top.addr, 16, fill=None)
        assert top.data == mine
        assert list(top.differs) == [i for i in range(16) if mine[i] != theirs[i]]
        assert sum(1 for i in range(16) if mine[i] != theirs[i]) == heap.bytes_differ == 1
        first = view.visible_lines()[0]
        assert first.startswith(f"{top.addr:012x}  ")
        await pilot.press("n")
        assert view.doc.line(view.scroll_offset.y).addr == top.addr  # no second difference in the heap

    drive(InspectorApp(str(a), str(b)), script, size=(100, 30))


def _edit(path, change) -> None:
    img = open_image(path)
    keep = []
    for entry in img.entries:
        msg = entry.message
        verdict = change(msg)
        if verdict == "drop":
            continue
        if verdict:
            entry.set_message(msg)
        keep.append(entry)
    img._entries = keep
    write_image(img, path)


def test_synthetic_changes_are_marked(writable_copy):
    """B is a copy of the real `tree` checkpoint, decoded, changed and encoded again: process 15786 left
    out of pstree.img, /dev/null (fd 0 of every process) renamed in files.img, and in mm-15787.img one VMA's
    protection changed and another VMA dropped."""
    a = corpus_dir("tree")
    b = writable_copy("tree")
    _edit(b / "pstree.img", lambda m: "drop" if m.pid == 15786 else False)

    def rename(m):
        if m.HasField("reg") and m.reg.name == "/dev/null":
            m.reg.name = "/dev/zero"
            return True
        return False

    _edit(b / "files.img", rename)
    mm = open_image(b / "mm-15787.img")
    msg = mm.entries[0].message
    anon = [i for i, v in enumerate(msg.vmas) if v.shmid == 0 and v.prot == 3]
    changed, dropped = msg.vmas[anon[0]].start, msg.vmas[anon[1]].start
    msg.vmas[anon[0]].prot = 1
    del msg.vmas[anon[1]]
    mm.entries[0].set_message(msg)
    write_image(mm, b / "mm-15787.img")

    async def script(app, pilot):
        tree = app.query_one(ProcessTree)
        labels = [str(n.label).split(" !")[0] for n in _walk(tree.root)]  # without the findings mark
        assert "-15786 tree (1t)" in labels
        assert "~15787 tree (3t)" in labels
        assert tree.select_pid(15787)
        await pilot.pause()
        assert app.pid == 15787
        await pilot.press("2")
        fds = app.query_one(FdTable)
        assert fds.column_text(0)[0] == "~" and fds.column_text(5)[0] == "/dev/null"
        assert fds.column_text(0)[1:] == ["", ""]
        await pilot.press("3")
        vmas = app.query_one(VmaTable)
        marks = dict(zip((int(r.split()[0], 16) for r in vmas.column_text(2)), vmas.column_text(0)))
        assert marks[changed] == "~" and marks[dropped] == "-"
        assert sum(1 for m in marks.values() if m) >= 2
        tree.select_pid(15786)
        await pilot.pause()
        assert app.pid == 15786
        assert "process removed (only in A)" in app.query_one(Overview).plain
        assert set(app.query_one(FdTable).column_text(0)) == {"-"}

    drive(InspectorApp(str(a), str(b)), script, size=(100, 30))


def _walk(node):
    for child in node.children:
        yield child
        yield from _walk(child)


def test_tree_marks_added_process_the_other_way(writable_copy):
    """Same edit of pstree.img, compared the other way round: 15786 appears as added."""
    b = writable_copy("tree")
    _edit(b / "pstree.img", lambda m: "drop" if m.pid == 15786 else False)

    async def script(app, pilot):
        labels = [str(n.label).split(" !")[0] for n in _walk(app.query_one(ProcessTree).root)]
        assert "+15786 tree (1t)" in labels
        assert not any(re.match(r"[~+-]1578[357]", label) for label in labels)

    drive(InspectorApp(str(b), str(corpus_dir("tree"))), script)


def test_match_tree_pairs_processes_of_another_pid_namespace():
    """tree (dumped by root) vs unpriv-tree (the same program, other pids, dumped by uid 1001), --match tree:
    every process is paired with its counterpart, none shows as added or removed. Checked for uid 1001, the
    header gives both verdicts, as the real restores went (MANIFEST: tree rc 1, unpriv-tree rc 0)."""
    from inspector.checks.base import Target
    from inspector.diff import DiffOptions

    a, b = corpus_dir("tree"), corpus_dir("unpriv-tree")
    result = diff_checkpoints(a, b, DiffOptions(match="tree"))
    pairs = {p.pid: p.pid_b for p in result.processes}
    assert len(pairs) == 4 and all(pid_b and pid_b != pid for pid, pid_b in pairs.items())

    async def script(app, pilot):
        verdict = app.query_one("#verdict").render().plain
        assert verdict.startswith("A: BLOCKED for unprivileged uid 1001 restore (")
        assert "; B: RESTORABLE" in verdict
        labels = [str(n.label).split(" !")[0] for n in _walk(app.query_one(ProcessTree).root)]
        assert labels == ["~15783 tree (2t)", "~15785 tree (1t)", "~15786 tree (1t)", "~15787 tree (3t)"]
        overview = app.query_one(Overview).plain
        assert "creds.euid: 0 -> 1001" in overview
        assert f"thread 15783 -> {pairs[15783]}: changed" in overview
        await pilot.press("2")
        fds = app.query_one(FdTable)
        assert fds.column_text(0) == ["", "~", "~"]  # out file: same path, other owner/size on B's side

    app = InspectorApp(str(a), str(b), target=Target(uid=1001, gid=1001), diff_options=DiffOptions(match="tree"))
    drive(app, script, size=(120, 40))


def test_secret_environment_stays_masked_in_the_diff(writable_copy):
    """B's process environment (in its pages) gets a secret: pair-2's HOME=... value rewritten in place
    to a same-length API_KEY entry (pages bytes changed at a known offset of pages-1.img)."""
    from tui.model.session import load_session

    a = corpus_dir("pair-1")
    b = writable_copy("pair-2")
    cp = Checkpoint(b)
    proc = cp.process(24822)
    home = next(e for e in proc.environ if e.startswith("HOME="))
    secret = ("API_KEY=" + "s" * len(home))[: len(home)]
    reader = cp.page_reader(24822)
    start = proc.mm["mm_env_start"]
    raw = reader.read(start, proc.mm["mm_env_end"] - start, fill=None)
    addr = start + raw.index(home.encode())
    run = next(r for r in reader.pagemap.runs_in(addr, addr + 1))
    offset = run.file_offset + (addr - run.start)
    pages = b / f"pages-{reader.pagemap.pages_id}.img"
    data = bytearray(pages.read_bytes())
    data[offset : offset + len(home)] = secret.encode()
    pages.write_bytes(bytes(data))
    assert secret in Checkpoint(b).process(24822).environ

    session = load_session(str(a), str(b))
    lines = [line for _, section in session.overview_extra(24822) for line in section]
    env_lines = [line for line in lines if line.startswith("environ.")]
    assert any(line.startswith("environ.API_KEY: None -> ********") for line in env_lines), env_lines
    assert not any("sss" in line for line in lines)
