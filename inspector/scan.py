"""Many checkpoints at once: find them, check each, one row per checkpoint.

``scan_one`` is a pure function of a path (and the check options): what a
local process pool runs, and what a Dask cluster runs as its task, so both
give the same rows. A checkpoint that cannot be read is a row with its
error, never the end of a scan. Rows are plain dicts (JSON-ready); pandas
sees them only in ``inspector.tables``.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from .checks.base import Target
from .errors import InspectError, one_error_line

SCAN_JSON_VERSION = 1
DEFAULT_TARGETS = ("unprivileged", "root")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2")
URL_SCHEMES = ("file://", "http://", "https://", "s3://", "gs://")
MAX_TOP_CODES = 5
MAX_WALK_DEPTH = 8  # a kubelet's checkpoints/ folder is flat; podman exports a tree or two deep


def is_url(path: str) -> bool:
    return path.startswith(URL_SCHEMES)


# --- finding checkpoints ----------------------------------------------------------------------------------------


def find_checkpoints(paths: Iterable[str]) -> list[str]:
    """Every checkpoint under the given paths, in order: a checkpoint or archive names itself; a folder is walked.

    A folder counts as a checkpoint when it holds CRIU's images (inventory.img or pstree.img), a
    ``checkpoint/`` of them (a container layout), or the remains of a failed dump (``dump.log`` with
    images): those are rows with their error. Pre-dumps that another checkpoint names as its parent are
    not rows of their own. A path that does not exist is kept: its row says so.
    """
    out: list[str] = []
    for path in paths:
        if path.startswith("file://"):  # a local path: walked and read in place, not fetched
            path = path[len("file://") :]
        if is_url(path):
            out += _find_urls(path)
        elif os.path.isdir(path) and not is_checkpoint_dir(path):
            found = _walk(path)
            out += found if found else [path]  # a folder with nothing in it: a row that says so
        else:
            out.append(path)
    return list(dict.fromkeys(out))


def is_checkpoint_dir(d: str) -> bool:
    try:
        names = set(os.listdir(d))
    except OSError:
        return False
    if names & {"inventory.img", "pstree.img"}:
        return True
    if "checkpoint" in names and os.path.isdir(os.path.join(d, "checkpoint")):
        return True
    return "dump.log" in names and any(n.endswith(".img") for n in names)


def is_archive_name(name: str) -> bool:
    return name.endswith(ARCHIVE_SUFFIXES)


def _walk(top: str) -> list[str]:
    found: list[str] = []
    parents: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(top):
        depth = os.path.relpath(dirpath, top).count(os.sep)
        dirnames.sort()
        keep = []
        for name in dirnames:
            d = os.path.join(dirpath, name)
            if os.path.islink(d):
                continue  # a parent link of a pre-dump chain, or anything else: not walked into
            if is_checkpoint_dir(d):
                found.append(d)
                link = os.path.join(d, "parent")
                if os.path.islink(link):
                    parents.add(os.path.realpath(link))
            elif depth < MAX_WALK_DEPTH:
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if is_archive_name(name):
                found.append(os.path.join(dirpath, name))
    return [f for f in found if os.path.realpath(f) not in parents]


def _find_urls(url: str) -> list[str]:
    """An fsspec URL of one archive, or of a folder (ends in /) whose archives are listed."""
    if not url.endswith("/"):
        return [url]
    import fsspec

    try:
        fs, _, (root,) = fsspec.get_fs_token_paths(url)
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        http = bool({"http", "https"} & set(protocols))
        listing = fs.ls(root, detail=False) if http else fs.find(root)  # HTTP: the index page's links
    except Exception:  # the store's own errors (HTTP, S3 credentials, no s3fs): the folder is one row, whose
        return [url]  # fetch says what is wrong
    names = sorted(p for p in listing if is_archive_name(p.rstrip("/")))
    return [p if is_url(p) else fs.unstrip_protocol(p) for p in names]


# --- one checkpoint ----------------------------------------------------------------------------------------------


def targets_named(kinds: Iterable[str], like: Target) -> dict[str, Target]:
    """One Target per kind, each with the options of ``like`` (uid, caps, criu flags)."""
    return {kind: dataclasses.replace(like, kind=kind) for kind in kinds}


def empty_row(path: str, targets: Iterable[str]) -> dict:
    names = list(targets)
    return {
        "path": path,
        "source": None,
        "archive": None,
        "container": None,
        "image": None,
        "criu": None,
        "created": None,
        "processes": None,
        "threads": None,
        "fds": None,
        "vmas": None,
        "memory_present": None,
        "memory_lazy": None,
        "memory_in_parent": None,
        "verdicts": {t: None for t in names},
        "errors": {t: None for t in names},
        "warnings": {t: None for t in names},
        "top_codes": [],
        "secrets": None,
        "error": None,
        "seconds": None,
    }


def scan_one(path: str, targets: dict[str, Target], with_checkpoint: Callable | None = None) -> dict:
    """The row of one checkpoint (a directory, an archive or a URL of one); never raises for bad input.

    ``with_checkpoint(cp, reports)`` is called with the open checkpoint and its check reports (target ->
    CheckReport) before they go: how ``export`` builds the tables without reading it all twice.
    """
    t0 = time.perf_counter()
    row = empty_row(path, targets)
    local, fetched = path, None
    cp = None
    try:
        if is_url(path):
            local = fetched = _fetch(path)
        from .model.checkpoint import Checkpoint

        cp = Checkpoint(local)
        _facts(cp, row, path if fetched else None)
        reports = _checks(cp, targets, row)
        if with_checkpoint is not None:
            with_checkpoint(cp, reports)
    except InspectError as exc:
        row["error"] = exc.one_line().replace(local, path) if fetched else exc.one_line()
    except MemoryError:
        row["error"] = f"{path}: out of memory"
    except Exception as exc:  # an input no one foresaw: this row says so, the scan goes on
        if os.environ.get("CRIU_INSPECT_DEBUG"):
            raise
        row["error"] = f"{path}: internal error: {type(exc).__name__}: {exc}"
    finally:
        if cp is not None:
            cp.close()
            if cp.source is not None:
                cp.source.cleanup()
        if fetched:
            shutil.rmtree(os.path.dirname(fetched), ignore_errors=True)
    row["seconds"] = round(time.perf_counter() - t0, 4)
    return row


def _fetch(url: str) -> str:
    """Copy one archive from an fsspec URL to a private temporary file (archives are read as local files)."""
    import fsspec

    tmp = tempfile.mkdtemp(prefix=f"criu-inspect-{os.getpid()}-fetch-")
    local = os.path.join(tmp, os.path.basename(url.rstrip("/")) or "checkpoint.tar")
    try:
        with fsspec.open(url, "rb") as src, open(local, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except FileNotFoundError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InspectError(url, "not found") from None
    except Exception as exc:  # HTTP errors, S3 credentials, no s3fs, a folder: one line
        shutil.rmtree(tmp, ignore_errors=True)
        raise InspectError(url, f"cannot fetch: {type(exc).__name__}: {exc}") from None
    return local


def _facts(cp, row: dict, shown: str | None) -> None:
    from .model.names import PAGE_SIZE

    src = cp.source
    meta = src.metadata if src is not None else {}
    row["source"] = src.kind if src is not None else "images"
    row["archive"] = src.archive if src is not None else None
    row["container"] = meta.get("name")
    row["image"] = meta.get("image")
    row["criu"] = cp.criu_version_hint
    row["created"] = meta.get("checkpointed") or meta.get("created") or _mtime(os.path.join(cp.path, "inventory.img"))
    procs = cp.processes
    row["processes"] = len(procs)
    row["threads"] = sum(len(p.threads) for p in procs)
    row["fds"] = sum(len(p.fds) for p in procs)
    row["vmas"] = sum(len(p.vmas) for p in procs)
    row["memory_present"] = sum(p.pages.present for p in procs) * PAGE_SIZE
    row["memory_lazy"] = sum(p.pages.lazy for p in procs) * PAGE_SIZE
    row["memory_in_parent"] = sum(p.pages.in_parent for p in procs) * PAGE_SIZE


def _mtime(path: str) -> str | None:
    try:
        ts = os.stat(path).st_mtime
    except OSError:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat(timespec="seconds")


def _checks(cp, targets: dict[str, Target], row: dict) -> dict:
    from .checks.engine import run_checks

    codes: Counter = Counter()
    problems: list[str] = []
    reports = {}
    for name, target in targets.items():
        report = reports[name] = run_checks(cp, target)
        row["verdicts"][name] = report.verdict
        row["errors"][name] = sum(1 for f in report.findings if f.severity == "error")
        row["warnings"][name] = sum(1 for f in report.findings if f.severity == "warning")
        codes.update(f.code for f in report.findings if f.severity in ("error", "warning"))
        if any(f.code == "CRI050" for f in report.findings):
            row["secrets"] = True
        problems = problems or list(report.problems)
    if row["secrets"] is None:
        row["secrets"] = False
    row["top_codes"] = [code for code, _ in sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TOP_CODES]]
    if problems:
        row["error"] = one_error_line(problems)
    return reports


# --- many checkpoints --------------------------------------------------------------------------------------------


def scan(
    paths: list[str],
    targets: dict[str, Target],
    *,
    workers: int = 0,
    scheduler: str | None = None,
    on_row: Callable[[dict], None] | None = None,
    task: Callable[[str, dict], dict] | None = None,
) -> list[dict]:
    """Rows of every checkpoint, sorted by path: in this process (workers=1), a local pool, or a Dask cluster.

    ``task`` replaces ``scan_one`` (a module-level function: workers import it by name).
    """
    task = task or scan_one
    if scheduler:
        rows = list(_scan_dask(paths, targets, scheduler, on_row, task))
    else:
        rows = list(_scan_local(paths, targets, workers or os.cpu_count() or 1, on_row, task))
    return sorted(rows, key=lambda r: r["path"])


def _scan_local(paths: list[str], targets: dict[str, Target], workers: int, on_row, task) -> Iterator[dict]:
    if workers <= 1 or len(paths) <= 1:
        for p in paths:
            row = task(p, targets)
            if on_row:
                on_row(row)
            yield row
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # forkserver: workers start from a clean interpreter (no threads, no parent state); each imports what it needs
    ctx = multiprocessing.get_context("forkserver")
    broken: list[str] = []  # a dead worker breaks the pool: every pending path fails with it
    with ProcessPoolExecutor(max_workers=min(workers, len(paths)), mp_context=ctx) as pool:
        futures = {pool.submit(task, p, targets): p for p in paths}
        for fut in as_completed(futures):
            try:
                row = fut.result()
            except Exception:
                broken.append(futures[fut])
                continue
            if on_row:
                on_row(row)
            yield row
    for path in broken:  # each again in a process of its own: only the one that kills its worker is an error
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            try:
                row = pool.submit(task, path, targets).result()
            except Exception as exc:  # the worker died (a crash in C, the OOM killer): this row says so
                row = empty_row(path, targets)
                row["error"] = f"{path}: the worker scanning it died ({type(exc).__name__}: {exc})"
        if on_row:
            on_row(row)
        yield row


def _scan_dask(paths: list[str], targets: dict[str, Target], address: str, on_row, task) -> Iterator[dict]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InspectError(
            None, "--scheduler needs Dask's distributed package: pip install 'dask[distributed]'"
        ) from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise InspectError(None, f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        futures = client.map(task, paths, targets=targets, pure=False)
        for fut in as_completed(futures):
            row = fut.result()
            fut.release()
            if on_row:
                on_row(row)
            yield row
    finally:
        client.close()


def blocked(row: dict) -> bool:
    """A row the fleet gate fails on: a target blocked or unknown, or the checkpoint unreadable."""
    return row["error"] is not None or any(v != "restorable" for v in row["verdicts"].values())


def scan_json(rows: list[dict], targets: Iterable[str], since: dict | None = None) -> dict:
    data = {"version": SCAN_JSON_VERSION, "targets": list(targets), "rows": rows}
    if since is not None:
        data["since"] = since
    return data


# --- against an earlier scan ---------------------------------------------------------------------------------------


def compare(old_rows: list[dict], rows: list[dict]) -> dict:
    """New, removed and changed-verdict checkpoints since an earlier scan."""
    before = {r["path"]: r for r in old_rows}
    now = {r["path"]: r for r in rows}
    changed = []
    for path in sorted(before.keys() & now.keys()):
        for target in sorted(now[path]["verdicts"]):
            a = before[path]["verdicts"].get(target)
            b = now[path]["verdicts"][target]
            if a != b:
                changed.append({"path": path, "target": target, "before": a, "after": b})
    return {
        "new": sorted(now.keys() - before.keys()),
        "removed": sorted(before.keys() - now.keys()),
        "changed": changed,
    }
