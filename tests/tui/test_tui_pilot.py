"""The TUI driven by keys (Textual Pilot) on real checkpoints; asserts on what the widgets show."""

from __future__ import annotations

import re

from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE
from tests.conftest import corpus_dir
from tests.tui.tui_driver import drive
from tui.app import InspectorApp
from tui.model.hexdoc import HexDocument
from tui.widgets.hexview import HexScreen, HexView
from tui.widgets.overview import Overview
from tui.widgets.process_tree import ProcessTree
from tui.widgets.tables import FdTable, VmaTable


def test_tree_moves_and_tabs_show_the_selected_process():
    path = corpus_dir("tree")

    async def script(app, pilot):
        tree = app.query_one(ProcessTree)
        assert tree.shown_pids == [15783, 15785, 15786, 15787]
        assert str(tree.root.children[0].label).startswith("15783 tree (2t)")
        assert app.pid == 15783
        assert "pid 15783  ppid 0" in app.query_one(Overview).plain
        await pilot.press("j", "down", "j")
        assert app.pid == 15787
        assert "threads 3: 15787 15789 15790" in app.query_one(Overview).plain
        await pilot.press("k")
        assert app.pid == 15786
        await pilot.press("2")
        assert app.query_one("#tabs").active == "files"
        fds = app.query_one(FdTable)
        assert fds.column_text(0) == ["0", "1", "2"]
        assert fds.full_text(4) == ["/dev/null", "/tmp/criu-work/data/tree/out", "/tmp/criu-work/data/tree/out"]
        # at 80 columns the path is cut in its middle: its file name stays in sight
        shown = fds.column_text(4)[1]
        assert "…" in shown and shown.endswith("/tree/out") and shown.startswith("/tmp/")
        assert fds.column_text(3)[1] == "158"
        await pilot.press("3")
        vmas = app.query_one(VmaTable)
        expected = Checkpoint(path).process(15786).vmas
        assert vmas.row_count == len(expected) == 23
        assert vmas.column_text(0)[0] == f"{expected[0].start:x} +4K"
        # Tab moves the focus from the tree to the tab bar, then into the table
        app.query_one(ProcessTree).focus()
        await pilot.press("tab", "tab")
        assert app.focused is vmas

    drive(InspectorApp(str(path)), script)


def test_filter_tree_and_table():
    async def script(app, pilot):
        tree = app.query_one(ProcessTree)
        await pilot.press("slash", *"15786")
        assert tree.shown_pids == [15783, 15786]  # the match and its parent
        await pilot.press("enter")
        assert app.focused is tree
        assert app.pid in (15783, 15786)
        await pilot.press("escape")  # focus is back on the tree; escape outside the box changes nothing
        await pilot.press("slash", "escape")  # Esc in the box clears the filter
        assert tree.shown_pids == [15783, 15785, 15786, 15787]
        await pilot.press("3", "tab", "tab")
        vmas = app.query_one(VmaTable)
        assert app.focused is vmas
        total = vmas.row_count
        await pilot.press("slash", *"libc")
        assert 0 < vmas.row_count < total
        assert all("libc" in backing for backing in vmas.full_text(5))  # the filter reads the whole path
        await pilot.press("enter")
        assert app.focused is vmas and vmas.filter_text == "libc"

    drive(InspectorApp(str(corpus_dir("tree"))), script)


def _hex_bytes(lines: list[str]) -> list[tuple[int, bytes]]:
    out = []
    for line in lines:
        m = re.match(r"^([0-9a-f]{12,16})  ((?:[0-9a-f]{2} ){15}[0-9a-f]{2})  ", line)
        if m:
            out.append((int(m[1], 16), bytes.fromhex(m[2].replace(" ", ""))))
    return out


def test_hex_view_shows_the_page_reader_bytes():
    path = corpus_dir("tree")
    cp = Checkpoint(path)
    reader = cp.page_reader(15783)
    vmas = cp.process(15783).vmas
    index = next(i for i, v in enumerate(vmas) if v.pages_present >= 2)

    async def script(app, pilot):
        await pilot.press("3", "tab", "tab")
        await pilot.press(*(["down"] * index), "enter")
        assert isinstance(app.screen, HexScreen)
        view = app.screen.query_one(HexView)
        assert view.doc.vma.start == vmas[index].start
        shown = _hex_bytes(view.visible_lines())
        assert len(shown) >= 10
        for addr, data in shown:
            assert data == reader.read(addr, 16, fill=None)
        assert any(data != bytes(16) for _, data in shown)  # real content, not a fill
        await pilot.press("pagedown", "pagedown")
        later = _hex_bytes(view.visible_lines())
        assert later and later[0][0] > shown[-1][0]
        for addr, data in later:
            assert data == reader.read(addr, 16, fill=None)
        assert view.doc.page_reads <= 2  # only the pages on screen were read
        await pilot.press("escape")
        assert not isinstance(app.screen, HexScreen)
        assert app.focused is app.query_one(VmaTable)

    drive(InspectorApp(str(path)), script, size=(100, 30))


def test_hex_view_search_finds_bytes_and_text():
    """/ in the hex view: a hex needle cut from deep in a real VMA is found and shown; n finds the next; a miss says so."""
    path = corpus_dir("tree")
    cp = Checkpoint(path)
    reader = cp.page_reader(15783)
    vmas = cp.process(15783).vmas
    index = next(i for i, v in enumerate(vmas) if v.pages_present >= 2)
    vma = vmas[index]
    addr = vma.start + PAGE_SIZE + 0x123  # the second page: off screen when the view opens
    needle = reader.read(addr, 8, fill=None)
    matches = []  # every match in the pages the images hold, found by a plain scan of each run
    for start, end in HexDocument(reader, vma)._content_spans():
        data = reader.read(start, end - start, fill=None)
        matches += [start + m.start() for m in re.finditer(b"(?=" + re.escape(needle) + b")", data)]
    first = matches[0]
    assert first <= addr

    async def script(app, pilot):
        await pilot.press("3", "tab", "tab")
        await pilot.press(*(["down"] * index), "enter")
        screen = app.screen
        assert isinstance(screen, HexScreen)
        view = screen.query_one(HexView)
        await pilot.press("slash", *("0x" + needle.hex()), "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert view.match == (first, 8)
        shown = dict(_hex_bytes(view.visible_lines()))
        assert first - first % 16 in shown  # the hit's line is on screen
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        if len(matches) > 1:
            assert view.match == (matches[1], 8)
        else:
            assert view.match == (first, 8)  # no further match: the hit stays
        await pilot.press("slash", *"no such text in here", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.needle == b"no such text in here" and view.match[1] == 8
        assert isinstance(app.screen, HexScreen)

    drive(InspectorApp(str(path)), script, size=(100, 30))


def test_memory_summary_and_the_checkpoint_tab():
    """tab 3 heads the VMAs with the process's sizes; tab 5 shows the dump's stats and sockets, from the images."""
    from inspector.codec.image import open_image
    from inspector.memsizes import process_sizes
    from inspector.textfmt import human_bytes
    from tui.widgets.overview import CheckpointPane

    path = corpus_dir("tcp")
    cp = Checkpoint(path)
    proc = cp.processes[0]
    sizes = process_sizes(cp, proc)
    present = sum(p.stat().st_size for p in path.glob("pages-*.img"))  # what CRIU wrote for the one process
    dump = open_image(str(path / "stats-dump")).entries[0].message.dump
    tcp = open_image(str(path / "files.img")).entries
    inet = next(e.message.isk for e in tcp if e.message.HasField("isk"))

    async def script(app, pilot):
        await pilot.press("3")
        summary = str(app.query_one("#vma-summary").render())
        assert summary.startswith(f"{human_bytes(sizes.size)} in {len(proc.vmas)} VMAs")
        assert f"pages present {human_bytes(present)}" in summary
        pane = app.query_one(CheckpointPane)
        assert not getattr(pane, "plain", "")  # nothing read before the tab is shown
        await pilot.press("5")
        await pilot.pause()
        assert app.query_one("#tabs").active == "checkpoint"
        text = pane.plain
        assert f"frozen time                       {dump.frozen_time} us" in text
        assert f"pages written                     {dump.pages_written} " in text
        assert f":{inet.dst_port}" in text and f":{inet.src_port}" in text  # the TCP connection's ports
        assert "none: not a container checkpoint" in text  # no network.status beside a bare image directory

    drive(InspectorApp(str(path)), script, size=(120, 36))


def test_help_lists_every_key_and_q_quits():
    async def script(app, pilot):
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-text").render())
        for key in ("j k", "Tab", "/", "Enter", "?", "q", "mouse"):
            assert key in text
        await pilot.press("escape")
        await pilot.press("q")
        return app.return_code

    assert drive(InspectorApp(str(corpus_dir("tree"))), script) in (0, None)


def test_mouse_click_selects_a_process():
    async def script(app, pilot):
        tree = app.query_one(ProcessTree)
        await pilot.click(ProcessTree, offset=(4, 3))  # fourth line: 15787
        await pilot.pause()
        assert app.pid == 15787
        await pilot.click("Tab#--content-tab-files")
        await pilot.pause()
        assert app.query_one("#tabs").active == "files"
        return tree

    drive(InspectorApp(str(corpus_dir("tree"))), script)


def test_loading_runs_in_a_worker_with_progress(monkeypatch):
    """Decoding is slowed down (0.2 s a process): the screen still answers keys and shows the progress."""
    import asyncio
    import time

    from textual.widgets import Label, ProgressBar

    import tui.model.session

    real = tui.model.session._warm_process

    def slow(cp, pid):
        time.sleep(0.2)
        real(cp, pid)

    monkeypatch.setattr(tui.model.session, "_warm_process", slow)
    app = InspectorApp(str(corpus_dir("tree")))

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await asyncio.sleep(0.3)
            await pilot.pause()
            assert app.session is None
            step = str(app.query_one("#load-step", Label).render())
            assert step.startswith("decoding") and "pid 157" in step
            bar = app.query_one("#load-progress", ProgressBar)
            assert bar.total == 4 + 1 + 1 and 0 < bar.progress < bar.total
            await pilot.press("question_mark")  # the event loop is free while the worker decodes
            await pilot.pause()
            assert app.screen.__class__.__name__ == "HelpScreen"
            await pilot.press("escape")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.session is not None
            assert app.query_one(ProcessTree).shown_pids == [15783, 15785, 15786, 15787]

    asyncio.run(main())


def test_findings_tab_and_jump_to_the_fd():
    """tree checked for uid 1001: CRI008 names fd 1 of pid 15787 (root-owned out file); Enter jumps there."""
    from inspector.checks.base import Target
    from inspector.checks.engine import run_checks
    from tui.widgets.tables import FindingsTable

    path = corpus_dir("tree")
    target = Target(uid=1001, gid=1001)
    report = run_checks(Checkpoint(path), target)
    expected = sorted((f.code, f.pid, f.fd) for f in report.findings)

    async def script(app, pilot):
        assert app.query_one("#verdict").render().plain.startswith("BLOCKED for unprivileged uid 1001 restore")
        tree = app.query_one(ProcessTree)
        assert str(tree.root.children[0].label) == f"15783 tree (2t) !{sum(f.pid == 15783 for f in report.findings)}"
        await pilot.press("4", "tab", "tab")
        table = app.query_one(FindingsTable)
        assert app.focused is table
        shown = sorted(
            (code, int(where.split()[1]), int(where.split()[3]) if "fd" in where else None)
            for code, where in zip(table.column_text(1), table.column_text(2))
        )
        assert shown == expected
        row = next(
            i
            for i, (c, w) in enumerate(zip(table.column_text(1), table.column_text(2)))
            if c == "CRI008" and w == "pid 15787 fd 1"
        )
        table.move_cursor(row=row)
        await pilot.pause()
        detail = app.query_one("#finding-detail").render().plain
        assert detail.startswith("error CRI008") and "fix: " in detail
        await pilot.press("enter")
        assert app.pid == 15787
        assert app.query_one("#tabs").active == "files"
        fds = app.query_one(FdTable)
        assert app.focused is fds
        assert str(fds.get_row_at(fds.cursor_row)[0]) == "1"
        assert str(fds.get_row_at(fds.cursor_row)[4]) == "/tmp/criu-work/data/tree/out"
        assert tree.cursor_node.data == 15787

    drive(InspectorApp(str(path), target=target), script, size=(100, 30))


def test_filter_findings_table():
    from inspector.checks.base import Target
    from tui.widgets.tables import FindingsTable

    async def script(app, pilot):
        await pilot.press("4", "tab", "tab")
        table = app.query_one(FindingsTable)
        total = table.row_count
        await pilot.press("slash", *"CRI008")
        assert 0 < table.row_count < total
        assert set(table.column_text(1)) == {"CRI008"}

    drive(InspectorApp(str(corpus_dir("tree")), target=Target(uid=1001, gid=1001)), script)


def test_jump_to_a_vma_named_by_a_finding():
    """No rule of this build names a VMA on the corpus, so the finding is made here; the VMA is real."""
    from inspector.checks.base import Finding

    proc = Checkpoint(corpus_dir("tree")).process(15787)
    vma = proc.vmas[7]

    async def script(app, pilot):
        finding = Finding("TEST", "a VMA", "memory", "warning", "m", "f", pid=15787, vma_start=vma.start + 0x10)
        app.jump_to(finding)
        await pilot.pause()
        assert app.pid == 15787 and app.query_one("#tabs").active == "memory"
        table = app.query_one(VmaTable)
        assert table.current_item() is not None and table.current_item().start == vma.start

    drive(InspectorApp(str(corpus_dir("tree"))), script)


def test_bracketed_names_are_shown_verbatim():
    """[heap], [stack], [vdso]: text from the images is never read as Rich markup."""
    proc = Checkpoint(corpus_dir("tree")).process(15783)

    async def script(app, pilot):
        await pilot.press("3")
        backing = app.query_one(VmaTable).column_text(5)
        assert "[heap]" in backing and "[stack]" in backing and "[vdso]" in backing
        assert len(backing) == len(proc.vmas)

    drive(InspectorApp(str(corpus_dir("tree"))), script)


def test_truncated_pages_file_is_shown_not_fatal(writable_copy):
    """tree's pages-1.img (pid 15783's pages) cut to one page: the header names the problem, the
    other processes browse normally and the hex view of a VMA past the cut says its pages are unreadable."""
    from inspector.model.names import PAGE_SIZE

    copy = writable_copy("tree")
    cp = Checkpoint(copy)
    pages_id = cp.pagemap(15783).pages_id
    pages = copy / f"pages-{pages_id}.img"
    with open(pages, "r+b") as fh:
        fh.truncate(PAGE_SIZE)
    later = [v for v in cp.process(15783).vmas if v.pages_present][-1]

    async def script(app, pilot):
        verdict = app.query_one("#verdict").render().plain
        assert "unreadable" in verdict and f"pages-{pages_id}.img" in verdict
        assert app.query_one(ProcessTree).shown_pids == [15783, 15785, 15786, 15787]
        await pilot.press("3", "tab", "tab")
        table = app.query_one(VmaTable)
        table.cursor_to(table.key_of_vma(later.start))
        await pilot.press("enter")
        view = app.screen.query_one(HexView)
        content = next(s.first_line for s in view.doc.segments if s.where == "content")
        view.scroll_to(y=content, animate=False)
        await pilot.pause()
        first = view.visible_lines()[0]
        assert first.startswith(f"{view.doc.line(content).addr:012x}  -- unreadable: ")
        assert "pages file is shorter than its pagemap" in first
        await pilot.press("slash", "2")  # main-screen keys do nothing under the hex view: / is its search
        assert isinstance(app.screen, HexScreen)
        assert app.screen.query_one("#hex-search").display and app.screen.query_one("#hex-search").value == "2"
        assert not app.query_one("#filter").has_class("-active")
        assert app.query_one("#tabs").active == "memory"
        await pilot.press("escape")  # closes the search box
        assert isinstance(app.screen, HexScreen) and not app.screen.query_one("#hex-search").display
        await pilot.press("escape")
        assert not isinstance(app.screen, HexScreen)

    drive(InspectorApp(str(copy)), script, size=(120, 30))


def test_a_failed_load_is_shown_on_screen(monkeypatch, tmp_path):
    """The loader raising (here: the directory vanished after the CLI checked it) leaves a one-line error."""
    app = InspectorApp(str(tmp_path / "gone"))

    async def script(app, pilot):
        step = str(app.query_one("#load-step").render())
        assert step == f"criu-inspect: error: {tmp_path / 'gone'}: no such directory"
        assert app.session is None
        await pilot.press("q")

    drive(app, script)


def test_quit_while_loading_stops_the_loader(monkeypatch):
    """q during a (slowed) load: the worker thread stops at its next process instead of decoding on unseen."""
    import asyncio
    import time

    import tui.model.session

    real = tui.model.session._warm_process
    calls = []

    def slow(cp, pid):
        calls.append(pid)
        time.sleep(0.3)
        real(cp, pid)

    monkeypatch.setattr(tui.model.session, "_warm_process", slow)
    app = InspectorApp(str(corpus_dir("tree")))

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await asyncio.sleep(0.1)
            await pilot.press("q")
        worker = next(iter(app.workers), None)
        deadline = time.monotonic() + 5
        while worker is not None and not worker.is_finished and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    asyncio.run(main())
    time.sleep(0.7)
    assert len(calls) <= 2  # of the 4 processes
    assert app.session is None
