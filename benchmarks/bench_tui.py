"""Benchmark: the TUI on a wide checkpoint and on the largest VMA of the corpus.

Builds a checkpoint with N processes from the real `tree` checkpoint of the
corpus: its images are copied, pstree.img is decoded, given N-4 more children
of the root and encoded again, and each new pid gets copies of process 15785's
core/ids/fs/mm/pagemap images (they share its fdinfo and pages files through
the ids and the pagemap header, as CRIU's shared tables do). Then, each in a
fresh process, headless (Textual's Pilot, 120x40):

- load: ``load_session`` in the worker until the tree is on screen (time, peak RSS);
- move: 200 presses of ``j`` in the tree, each one refilling the Overview, Files
  and Memory tabs (wall and CPU ms per move; the wall time includes the Pilot
  waiting for the screen to settle after each key);
- hex: the hex view of the jvm checkpoint's largest VMA, 200 PageDown presses
  (wall and CPU ms per page of scrolling, pages read, peak RSS).

Usage: python benchmarks/bench_tui.py [--processes 1000] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CRIU_INSPECT_CORPUS", ROOT / "sample-images"))
TEMPLATE_PID = 15785


def build_wide(dest: Path, processes: int) -> Path:
    sys.path.insert(0, str(ROOT))
    from inspector.codec.image import open_image

    src = CORPUS / "tree" if (CORPUS / "tree").is_dir() else ROOT / "sample-images" / "tree"
    shutil.copytree(src, dest)
    for p in [dest, *dest.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    pstree = open_image(dest / "pstree.img")
    template = next(e for e in pstree.entries if e.message.pid == TEMPLATE_PID)
    root = pstree.entries[0].message.pid
    for i in range(processes - len(pstree.entries)):
        pid = 40000 + i
        msg = type(template.message)()
        msg.CopyFrom(template.message)
        msg.pid, msg.ppid, msg.pgid, msg.sid = pid, root, pid, pid
        del msg.threads[:]
        msg.threads.append(pid)
        entry = _clone_entry(template, msg)
        pstree._entries.append(entry)
        for kind in ("core", "ids", "fs", "mm", "pagemap"):
            shutil.copyfile(dest / f"{kind}-{TEMPLATE_PID}.img", dest / f"{kind}-{pid}.img")
    (dest / "pstree.img").write_bytes(pstree.encode())
    return dest


def _clone_entry(template, msg):
    import copy

    entry = copy.copy(template)
    entry.set_message(msg)
    return entry


PROBE = r"""
import asyncio, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from tui.app import InspectorApp
from tui.widgets.process_tree import ProcessTree
from tui.widgets.hexview import HexView
mode, path = sys.argv[2], sys.argv[3]
out = {}

async def main():
    app = InspectorApp(path)
    t0 = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while app.session is None:
            await asyncio.sleep(0.01)
        await pilot.pause()
        out["load_s"] = round(time.perf_counter() - t0, 3)
        out["processes"] = len(app.query_one(ProcessTree).shown_pids)
        if mode == "move":
            t1, c1 = time.perf_counter(), time.process_time()
            for _ in range(200):
                await pilot.press("j")
            await pilot.pause()
            out["ms_per_move"] = round((time.perf_counter() - t1) * 1000 / 200, 2)
            out["cpu_ms_per_move"] = round((time.process_time() - c1) * 1000 / 200, 2)
            out["pid_after"] = app.pid
        if mode == "hex":
            await pilot.press("3", "tab", "tab")
            from tui.widgets.tables import VmaTable
            table = app.query_one(VmaTable)
            big = max(table.items.values(), key=lambda v: v.pages_present)
            table.cursor_to(table.key_of_vma(big.start))
            t1 = time.perf_counter()
            await pilot.press("enter")
            await pilot.pause()
            view = app.screen.query_one(HexView)
            out["vma_pages_present"] = big.pages_present
            out["open_ms"] = round((time.perf_counter() - t1) * 1000, 1)
            t2, c2 = time.perf_counter(), time.process_time()
            for _ in range(200):
                await pilot.press("pagedown")
            await pilot.pause()
            out["ms_per_pagedown"] = round((time.perf_counter() - t2) * 1000 / 200, 2)
            out["cpu_ms_per_pagedown"] = round((time.process_time() - c2) * 1000 / 200, 2)
            out["pages_read"] = view.doc.page_reads
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

asyncio.run(main())
print(json.dumps(out))
"""


def probe(mode: str, path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), mode, str(path)], capture_output=True, text=True, timeout=600
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=1000)
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        wide = build_wide(Path(tmp) / "wide", args.processes)
        results["wide_load"] = probe("load", wide)
        results["wide_move"] = probe("move", wide)
        results["tree_load"] = probe("load", CORPUS / "tree")
    results["jvm_hex"] = probe("hex", CORPUS / "jvm")
    for name, r in results.items():
        print(f"{name:10} {json.dumps(r)}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
