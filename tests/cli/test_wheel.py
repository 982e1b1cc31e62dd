"""Packaging: the wheel carries what an installed criu-inspect needs, the rule pages among them.

The wheel is built from a copy of the sources (the checkout stays clean) and installed with --no-deps
into a fresh venv that sees the project's dependencies through a .pth naming this venv's
site-packages. A path named in a .pth is not a site directory, so the .pth files inside it (the
editable install's among them) do not run there: the only ``inspector`` the fresh venv can import is
the wheel's, which the first assertion checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from inspector.checks.docs import rule_page
from inspector.checks.engine import rule_by_code

from ..conftest import ROOT

pytestmark = pytest.mark.packaging

SOURCES = ("pyproject.toml", "README.md", "inspector", "tui")


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns its bin directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp / "dist", src, cwd=tmp)
    [wheel] = (tmp / "dist").glob("criu_inspect-*.whl")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    venv_site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp).stdout.strip()
    (Path(venv_site) / "project_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel, cwd=tmp
    )
    return venv / "bin"


def test_the_fresh_venv_imports_the_wheel_not_the_checkout(installed):
    where = run(installed / "python", "-c", "import inspector; print(inspector.__file__)", cwd=installed).stdout
    assert where.startswith(str(installed.parent)), where


def test_rule_prints_its_page_from_the_wheel(installed):
    rule = rule_by_code("CRI001")
    assert rule is not None
    page = run(installed / "criu-inspect", "rule", "CRI001", cwd=installed).stdout
    assert page == rule_page(rule) and page.startswith("# CRI001: ") and "## How to fix" in page
