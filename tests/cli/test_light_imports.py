"""Textual, pandas and rich stay off the import paths that do not need them.

`criu-inspect show` and scripts that import the library must start fast and
work where the `tui` extra is not installed; only `criu-inspect tui` pays for
Textual. Checked in a fresh interpreter through sys.modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT, SAMPLES


def _modules_after(code: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    script = code + "\nimport sys, json\nsys.stderr.write('\\nMODULES=' + json.dumps(sorted(sys.modules)) + '\\n')"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES=")][-1]
    return set(json.loads(line[len("MODULES=") :]))


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_library_imports_no_textual():
    optional = []
    for name in ("inspector.checks.engine", "inspector.diff"):
        try:
            __import__(name)
            optional.append(name)
        except ModuleNotFoundError:
            pass
    code = "\n".join(
        [
            "import inspector",
            "import inspector.model.checkpoint",
            "import inspector.pages",
            "import inspector.checks.base",
        ]
        + [f"import {name}" for name in optional]
    )
    top = _top(_modules_after(code))
    assert "inspector" in top
    assert "textual" not in top
    assert "pandas" not in top


def test_headless_tui_model_imports_no_textual():
    """tui.model decides rows, marks and bytes; it must be testable without a screen."""
    top = _top(_modules_after("import tui.model, tui.model.diffview"))
    assert "tui" in top
    assert "textual" not in top


def test_show_command_imports_neither_textual_nor_pandas():
    code = (
        "import io, contextlib\n"
        "from inspector.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    rc = main(['show', {str(SAMPLES / 'tree')!r}])\n"
        "assert rc == 0, rc\n"
        "assert '15787' in out.getvalue()\n"
    )
    top = _top(_modules_after(code))
    assert "inspector" in top
    assert "textual" not in top
    assert "pandas" not in top


def test_cli_help_does_not_import_textual():
    top = _top(_modules_after("from inspector.cli import build_parser\nbuild_parser().format_help()"))
    assert "textual" not in top


def test_help_and_the_scan_library_import_no_pandas_pyarrow_dask_or_fsspec():
    """pandas (~0.3 s), pyarrow, dask and fsspec load only when scan/export write tables or reach a cluster or URL."""
    heavy = {"pandas", "pyarrow", "dask", "distributed", "fsspec"}
    top = _top(_modules_after("from inspector.cli import build_parser\nbuild_parser().format_help()"))
    assert not top & heavy, top & heavy
    code = (
        "from inspector import scan\nfrom inspector.checks.base import Target\n"
        f"row = scan.scan_one({str(SAMPLES / 'tree')!r}, scan.targets_named(['root'], Target()))\n"
        "assert row['processes'] == 4, row\n"
    )
    top = _top(_modules_after(code))
    assert not top & heavy, top & heavy
