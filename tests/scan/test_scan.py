"""scan and export: many checkpoints, one row each, verdicts equal to check's; tables with their documented dtypes."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from inspector import scan
from inspector.checks.base import Target

from ..cli.test_bad_input import assert_one_error
from ..conftest import CORPUS, CORPUS_NAMES, corpus_dir

TARGETS = scan.targets_named(scan.DEFAULT_TARGETS, Target())


@functools.lru_cache(maxsize=1)
def corpus_scan_json() -> tuple[int, dict]:
    from ..conftest import run_cli

    r = run_cli("scan", str(CORPUS), "--format", "json", "--workers", "2")
    return r.returncode, json.loads(r.stdout)


def test_every_checkpoint_is_one_row_with_checks_verdicts(cli):
    code, data = corpus_scan_json()
    assert code == 1  # the corpus holds blocked checkpoints: the fleet gate fails
    assert data["version"] == 1 and data["targets"] == ["unprivileged", "root"]
    rows = {Path(r["path"]).name: r for r in data["rows"]}
    assert set(CORPUS_NAMES) <= set(rows)
    for name in CORPUS_NAMES:
        for target in ("unprivileged", "root"):
            checked = json.loads(cli("check", str(corpus_dir(name)), "--target", target, "--format", "json").stdout)
            assert rows[name]["verdicts"][target] == checked["verdict"], (name, target)
            errors = sum(1 for f in checked["findings"] if f["severity"] == "error")
            assert rows[name]["errors"][target] == errors, (name, target)


def test_rows_carry_the_checkpoints_facts():
    _, data = corpus_scan_json()
    tree = next(r for r in data["rows"] if r["path"].endswith("/tree"))
    assert (tree["processes"], tree["threads"], tree["fds"], tree["vmas"]) == (4, 7, 12, 98)
    assert tree["criu"] == ">= 4.2" and tree["source"] == "images" and tree["error"] is None
    assert tree["memory_present"] % 4096 == 0 and tree["memory_present"] > 0
    assert tree["top_codes"][:2] == ["CRI005", "CRI007"] and tree["secrets"] is False
    jvm = next(r for r in data["rows"] if r["path"].endswith("/jvm"))
    assert jvm["verdicts"] == {"unprivileged": "restorable", "root": "restorable"}


def test_a_failed_dump_and_a_damaged_checkpoint_are_rows_with_their_error(writable_copy, cli, tmp_path):
    _, data = corpus_scan_json()
    failed = next(r for r in data["rows"] if r["path"].endswith("_failed-dumps/flock-nolocksflag"))
    assert "not a complete CRIU checkpoint" in failed["error"] and "Some file locks" in failed["error"]
    assert failed["verdicts"] == {"unprivileged": None, "root": None}

    d = writable_copy("tree")
    (d / "core-15786.img").write_bytes(b"")
    missing = tmp_path / "gone"
    r = cli("scan", str(d), str(missing), str(corpus_dir("jvm")), "--format", "json", "--workers", "1")
    assert r.returncode == 1 and r.stderr == ""
    rows = {Path(x["path"]).name: x for x in json.loads(r.stdout)["rows"]}
    assert rows["tree"]["error"].startswith(f"{d}/core-15786.img: too short")
    assert rows["tree"]["verdicts"]["unprivileged"] in ("unknown", "blocked")
    assert rows["gone"]["error"] == f"{missing}: no such directory"
    assert rows["jvm"]["error"] is None and rows["jvm"]["verdicts"]["root"] == "restorable"


def test_exit_0_when_every_row_is_restorable(cli):
    r = cli("scan", str(corpus_dir("jvm")), str(corpus_dir("unpriv-tree")), "--no-progress")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 checkpoint(s); 0 not restorable" in r.stdout


def test_usage_errors_exit_2(cli, tmp_path):
    r = cli("scan", str(corpus_dir("jvm")), "--format", "parquet")
    assert_one_error(r, "--format parquet writes a file")
    r = cli("scan", str(corpus_dir("jvm")), "--since", str(tmp_path / "none.parquet"))
    assert_one_error(r, tmp_path / "none.parquet", "No such file or directory")


def test_a_folder_is_walked_and_pre_dumps_are_not_rows(tmp_path):
    fleet = tmp_path / "fleet"
    (fleet / "node-a").mkdir(parents=True)
    shutil.copytree(corpus_dir("tree"), fleet / "node-a" / "1")
    shutil.copytree(corpus_dir("tree"), fleet / "node-a" / "2")
    (fleet / "node-a" / "2" / "parent").symlink_to("../1")
    with tarfile.open(fleet / "checkpoint-web_default-app-2026.tar", "w") as t:
        t.add(corpus_dir("jvm"), "checkpoint")
    (fleet / "notes.txt").write_text("not a checkpoint")
    found = scan.find_checkpoints([str(fleet)])
    assert sorted(found) == sorted([str(fleet / "node-a" / "2"), str(fleet / "checkpoint-web_default-app-2026.tar")])
    rows = scan.scan(found, TARGETS, workers=1)
    arc = next(r for r in rows if r["path"].endswith(".tar"))
    assert arc["archive"] == "tar" and arc["verdicts"]["root"] == "restorable"
    import datetime

    dumped = datetime.datetime.fromtimestamp(int((corpus_dir("jvm") / "inventory.img").stat().st_mtime), datetime.UTC)
    assert arc["created"] == dumped.isoformat(timespec="seconds")  # the member's time, not the extraction's


def test_local_pool_equals_one_process():
    paths = [str(corpus_dir(n)) for n in ("tree", "jvm", "tty", "flock")]
    one = scan.scan(paths, TARGETS, workers=1)
    two = scan.scan(paths, TARGETS, workers=2)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(one) == strip(two)


def test_csv_and_parquet_load_back_with_the_documented_dtypes(cli, tmp_path):
    import pandas as pd

    from inspector import tables

    paths = [str(corpus_dir("tree")), str(corpus_dir("jvm")), str(tmp_path / "missing")]
    schema = dict(tables.scan_schema(["unprivileged", "root"]))
    pq = tmp_path / "scan.parquet"
    assert cli("scan", *paths, "--format", "parquet", "-o", str(pq)).returncode == 1
    df = pd.read_parquet(pq)
    assert {c: str(t) for c, t in df.dtypes.items()} == schema
    by = df.set_index("path")
    assert by.loc[str(corpus_dir("tree")), "processes"] == 4
    assert by.loc[str(corpus_dir("jvm")), "verdict_root"] == "restorable"
    assert pd.isna(by.loc[str(tmp_path / "missing"), "processes"])  # unknown, not 0
    csv = tmp_path / "scan.csv"
    assert cli("scan", *paths, "--format", "csv", "-o", str(csv)).returncode == 1
    back = pd.read_csv(csv)
    assert list(back.columns) == list(schema) and len(back) == 3


def test_since_an_earlier_scan(cli, writable_copy, tmp_path):
    a = writable_copy("unpriv-tree", "a")
    b = writable_copy("jvm", "b")
    before = tmp_path / "before.parquet"
    assert cli("scan", str(a), str(b), "--format", "parquet", "-o", str(before)).returncode == 0
    shutil.rmtree(b)
    shutil.rmtree(a)  # a now holds a root-made tree: its unprivileged verdict changes
    shutil.copytree(corpus_dir("tree"), a)
    c = writable_copy("tty", "c")
    r = cli("scan", str(a), str(c), "--since", str(before), "--format", "json")
    since = json.loads(r.stdout)["since"]
    assert since["new"] == [str(c)] and since["removed"] == [str(b)]
    assert since["changed"] == [{"path": str(a), "target": "unprivileged", "before": "restorable", "after": "blocked"}]
    text = cli("scan", str(a), str(c), "--since", str(before)).stdout
    assert f"changed  {a} (unprivileged): restorable -> blocked" in text


def test_export_writes_every_table_with_its_dtypes(cli, tmp_path):
    import pandas as pd

    from inspector import tables

    out = tmp_path / "tables"
    r = cli("export", str(corpus_dir("tree")), str(corpus_dir("tcp")), "--to", str(out), "--format", "parquet")
    assert r.returncode == 0, r.stderr
    for name, schema in tables.SCHEMAS.items():
        df = pd.read_parquet(out / f"{name}.parquet")
        assert {c: str(t) for c, t in df.dtypes.items()} == dict(schema), name
    procs = pd.read_parquet(out / "processes.parquet")
    tree = procs[procs.checkpoint == str(corpus_dir("tree"))]
    assert sorted(tree.pid.tolist()) == [15783, 15785, 15786, 15787] and tree.threads.sum() == 7
    socks = pd.read_parquet(out / "sockets.parquet")
    assert (socks[socks.checkpoint == str(corpus_dir("tcp"))].family == "INET").any()
    findings = pd.read_parquet(out / "findings.parquet")
    assert set(findings.target) == {"unprivileged", "root"} and "CRI005" in set(findings.code)
    vmas = pd.read_parquet(out / "vmas.parquet")
    assert len(vmas[vmas.checkpoint == str(corpus_dir("tree"))]) == 98
    r = cli("export", str(corpus_dir("tree")), "--to", str(tmp_path / "j"), "--format", "jsonl")
    lines = (tmp_path / "j" / "fds.jsonl").read_text().splitlines()
    assert len(lines) == 12 and json.loads(lines[0])["checkpoint"] == str(corpus_dir("tree"))


# --- archives over HTTP, and a Dask cluster ---------------------------------------------------------------------


@pytest.fixture
def http_folder(tmp_path):
    """A real HTTP server (the stdlib's) on loopback serving a folder of checkpoint archives."""
    served = tmp_path / "served"
    served.mkdir()
    for name in ("tree", "jvm"):
        with tarfile.open(served / f"{name}.tar.gz", "w:gz") as t:
            t.add(corpus_dir(name), name)
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_archives_served_over_http(http_folder, tmp_path):
    paths = scan.find_checkpoints([http_folder, http_folder + "missing.tar"])
    assert paths == [http_folder + "jvm.tar.gz", http_folder + "tree.tar.gz", http_folder + "missing.tar"]
    rows = {r["path"]: r for r in scan.scan(paths, TARGETS, workers=1)}
    local = {
        Path(r["path"]).name: r
        for r in scan.scan([str(corpus_dir("tree")), str(corpus_dir("jvm"))], TARGETS, workers=1)
    }
    for name in ("tree", "jvm"):
        row = rows[f"{http_folder}{name}.tar.gz"]
        assert row["error"] is None and row["archive"] == "tar.gz"
        assert row["verdicts"] == local[name]["verdicts"] and row["processes"] == local[name]["processes"]
    assert rows[http_folder + "missing.tar"]["error"].startswith(f"{http_folder}missing.tar: ")
    assert not [p for p in os.listdir(os.environ.get("TMPDIR", "/tmp")) if p.startswith(f"criu-inspect-{os.getpid()}-")]


def test_a_dask_cluster_scan_equals_the_local_scan(tmp_path):
    distributed = pytest.importorskip("distributed")
    paths = scan.find_checkpoints([str(CORPUS)])
    local = scan.scan(paths, TARGETS, workers=2)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        local_directory=str(tmp_path / "dask"),
    ) as cluster:
        remote = scan.scan(paths, TARGETS, scheduler=cluster.scheduler_address)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert len(remote) == len(local) == len(paths)
    assert strip(remote) == strip(local)


def test_an_unreachable_scheduler_is_one_line(cli):
    pytest.importorskip("distributed")
    r = cli("scan", str(corpus_dir("jvm")), "--scheduler", "tcp://127.0.0.1:9")
    assert_one_error(r, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")


def scan_or_die(path: str, targets: dict) -> dict:
    """scan_one, except that a path ending in crash-me kills its worker, as a crash in C would."""
    if path.endswith("crash-me"):
        os._exit(9)
    return scan.scan_one(path, targets)


def test_a_worker_that_dies_is_a_row_with_its_error_not_the_end_of_the_scan(tmp_path):
    """A dead worker breaks the pool: every path still gets a row, and only the culprit is an error."""
    victim = tmp_path / "crash-me"
    victim.mkdir()
    paths = [str(victim), str(corpus_dir("jvm")), str(corpus_dir("tree"))]
    rows = scan.scan(paths, TARGETS, workers=2, task=scan_or_die)
    assert sorted(r["path"] for r in rows) == sorted(paths)
    by = {r["path"]: r for r in rows}
    assert by[str(corpus_dir("jvm"))]["error"] is None and by[str(corpus_dir("tree"))]["processes"] == 4
    assert "the worker scanning it died" in by[str(victim)]["error"]


def test_container_archives_carry_their_name_image_and_time(tmp_path):
    """A podman export (tar.zst) and a CRI-O kubelet archive, as test_source builds them: the container's
    facts come from config.dump/spec.dump."""
    from ..source.test_source import CRIO_CONFIG, CRIO_SPEC, container_dir, pack

    fleet = tmp_path / "fleet"
    fleet.mkdir()
    pack(container_dir(corpus_dir("tree"), tmp_path / "p"), fleet / "ticker.tar.zst", "tar.zst")
    pack(
        container_dir(corpus_dir("jvm"), tmp_path / "c", CRIO_CONFIG, CRIO_SPEC),
        fleet / "checkpoint-web-5d9f_shop-app-2026-11-20T11:00:00Z.tar",
        "tar",
    )
    rows = {Path(r["path"]).name: r for r in scan.scan(scan.find_checkpoints([str(fleet)]), TARGETS, workers=1)}
    podman = rows["ticker.tar.zst"]
    assert (podman["source"], podman["archive"], podman["container"], podman["image"]) == (
        "podman",
        "tar.zst",
        "ticker-tree",
        "registry.example.org/ticker:1.4",
    )
    crio = rows["checkpoint-web-5d9f_shop-app-2026-11-20T11:00:00Z.tar"]
    assert (crio["source"], crio["container"], crio["image"], crio["created"]) == (
        "crio",
        "app",
        "quay.io/shop/web:2.1",
        "2026-11-20T11:00:00Z",
    )
    assert crio["verdicts"]["root"] == "restorable" and podman["processes"] == 4


def test_file_urls_are_local_paths_and_an_unlistable_store_is_a_row(tmp_path):
    assert scan.find_checkpoints([f"file://{corpus_dir('jvm')}"]) == [str(corpus_dir("jvm"))]
    pytest.importorskip("fsspec")
    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed: the store would be asked for real")
    rows = scan.scan(scan.find_checkpoints(["s3://criu-inspect-no-bucket/checkpoints/"]), TARGETS, workers=1)
    assert [r["path"] for r in rows] == ["s3://criu-inspect-no-bucket/checkpoints/"]
    assert rows[0]["error"].startswith("s3://criu-inspect-no-bucket/checkpoints/: cannot fetch: ImportError")
    assert rows[0]["verdicts"] == {"unprivileged": None, "root": None}
