"""SVG snapshots of the main screens on sample-images/ (80x24 and 120x36).

Update after a deliberate change of the screens with
``pytest tests/tui/test_tui_snapshots.py --snapshot-update`` and look at the SVGs.
The checkpoint path is given relative to the repository so the header is the
same on every machine.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.tui.tui_driver import wait_loaded
from tui.app import InspectorApp


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


def _app(a="sample-images/tree", b=None):
    return InspectorApp(a, b)


def test_overview_80x24(snap_compare):
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=wait_loaded)


def test_files_80x24(snap_compare):
    assert snap_compare(_app("sample-images/tty"), press=["2"], terminal_size=(80, 24), run_before=wait_loaded)


def test_memory_80x24(snap_compare):
    assert snap_compare(_app(), press=["j", "3"], terminal_size=(80, 24), run_before=wait_loaded)


def test_hex_view_80x24(snap_compare):
    assert snap_compare(
        _app(), press=["3", "tab", "tab", "down", "enter"], terminal_size=(80, 24), run_before=wait_loaded
    )


def test_help_80x24(snap_compare):
    assert snap_compare(_app(), press=["question_mark"], terminal_size=(80, 24), run_before=wait_loaded)


def test_checkpoint_tab_120x36(snap_compare):
    assert snap_compare(_app("sample-images/tcp"), press=["5"], terminal_size=(120, 36), run_before=wait_loaded)


def test_findings_120x36(snap_compare):
    assert snap_compare(_app("sample-images/tty"), press=["4"], terminal_size=(120, 36), run_before=wait_loaded)


def test_overview_120x36(snap_compare):
    assert snap_compare(_app("sample-images/unpriv-plain-nnp"), terminal_size=(120, 36), run_before=wait_loaded)


def test_diff_memory_80x24(snap_compare):
    assert snap_compare(
        _app("sample-images/pair-1", "sample-images/pair-2"),
        press=["3"],
        terminal_size=(80, 24),
        run_before=wait_loaded,
    )


def test_diff_overview_120x36(snap_compare):
    assert snap_compare(
        _app("sample-images/pair-1", "sample-images/pair-2"), terminal_size=(120, 36), run_before=wait_loaded
    )


def test_findings_80x24(snap_compare):
    assert snap_compare(
        _app("sample-images/tty"), press=["4", "tab", "tab"], terminal_size=(80, 24), run_before=wait_loaded
    )


def test_diff_hex_view_120x36(snap_compare):
    """pair-1's heap against pair-2's, scrolled by `n` to the one byte that differs (red)."""
    keys = ["3", "tab", "tab", *(["down"] * 6), "enter", "n"]
    assert snap_compare(
        _app("sample-images/pair-1", "sample-images/pair-2"),
        press=keys,
        terminal_size=(120, 36),
        run_before=wait_loaded,
    )
