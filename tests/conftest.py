"""Shared fixtures: the real corpus, which lives in sample-images/ (the repository stands alone)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tests.rule_coverage"]  # every rule has a test that runs it to a finding
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample-images"
CORPUS = SAMPLES

CORPUS_NAMES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))


def corpus_dir(name: str) -> Path:
    path = CORPUS / name
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint {name} is not in {CORPUS}")
    return path


@pytest.fixture
def corpus():
    return corpus_dir


@pytest.fixture
def writable_copy(tmp_path):
    """Copy a checkpoint to a temp dir (inputs are read-only; tests change copies)."""

    def make(name: str, dest: str | None = None) -> Path:
        target = tmp_path / (dest or name)
        shutil.copytree(corpus_dir(name), target)
        for p in [target, *target.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
        return target

    return make


def run_cli(*args: str, env: dict | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess (as a user would)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.pop("CRIU_INSPECT_DEBUG", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300
    )


@pytest.fixture
def cli():
    return run_cli


def run_capped(*args: str, limit: int = 1536 << 20) -> subprocess.CompletedProcess:
    """Run the CLI under an address-space cap: an allocation sized by a lying field fails the test."""
    import resource

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args], capture_output=True, text=True, env=env, preexec_fn=cap, timeout=120
    )
