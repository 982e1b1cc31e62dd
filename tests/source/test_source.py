"""The source layer: container checkpoint directories, archives and Liberty layouts open like bare image dirs.

Every layout here is built from a real corpus checkpoint: its image files are
copied unchanged into the place the engine puts them (podman/CRI-O:
``checkpoint/`` beside ``config.dump`` and ``spec.dump``, with criu's
``stats-dump`` in the work dir above it, as podman's export has it; Liberty:
``workarea/checkpoint/image/``), then packed with Python's tarfile. The
metadata files carry the fields podman and CRI-O write (as checkpointctl reads
them). Malicious archives are built member by member.
"""

from __future__ import annotations

import gc
import gzip
import io
import json
import os
import shutil
import signal
import sys
import tarfile
from pathlib import Path

import pytest

from inspector.errors import InspectError
from inspector.model.checkpoint import Checkpoint
from inspector.report.show_json import checkpoint_dict
from inspector.source import archive_format, resolve
from tests.conftest import corpus_dir
from tests.synth import make_predump_chain

PODMAN_ID = "8f3c2b1a9d7e6f5041322314a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e"
PODMAN_CONFIG = {
    "id": PODMAN_ID,
    "name": "ticker-tree",
    "rootfsImage": "5e1a3f0c2b4d",
    "rootfsImageName": "registry.example.org/ticker:1.4",
    "runtime": "crun",
    "createdTime": "2026-11-20T10:00:00.123456789Z",
    "checkpointedTime": "2026-11-20T10:05:00.5Z",
    "restoredTime": "0001-01-01T00:00:00Z",
    "restored": False,
}
PODMAN_SPEC = {
    "ociVersion": "1.0.2-dev",
    "process": {"args": ["/usr/local/bin/tree", "--depth", "3"], "cwd": "/"},
    "annotations": {"io.container.manager": "libpod", "org.opencontainers.image.stopSignal": "15"},
}
CRIO_CONFIG = {
    "id": "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc",
    "name": "k8s_app_web-5d9f_shop_6975ee47-6765-45dc-9a2b-1e38d51031f7_0",
    "rootfsImageName": "quay.io/shop/web:2.1",
    "runtime": "runc",
    "createdTime": "2026-11-19T08:00:00Z",
    "checkpointedTime": "2026-11-20T11:00:00Z",
}
CRIO_SPEC = {
    "annotations": {
        "io.container.manager": "cri-o",
        "io.kubernetes.cri-o.Metadata": json.dumps({"name": "app", "attempt": 0}),
        "io.kubernetes.cri-o.Created": "2026-11-19T08:00:01.5Z",
        "io.kubernetes.container.name": "app",
        "io.kubernetes.pod.name": "web-5d9f",
        "io.kubernetes.pod.namespace": "shop",
    }
}


# --- builders ----------------------------------------------------------------


def container_dir(src: Path, dest: Path, config=PODMAN_CONFIG, spec=PODMAN_SPEC) -> Path:
    """A podman/CRI-O container checkpoint directory around a real checkpoint's images."""
    images = dest / "checkpoint"
    shutil.copytree(src, images)
    for p in [dest, *dest.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    if (images / "stats-dump").exists():  # podman's runtime has criu write it to the work dir
        (images / "stats-dump").rename(dest / "stats-dump")
    (dest / "config.dump").write_text(json.dumps(config, indent=2))
    (dest / "spec.dump").write_text(json.dumps(spec, indent=1))
    (dest / "network.status").write_text("[]")
    rootfs = io.BytesIO()
    with tarfile.open(fileobj=rootfs, mode="w") as t:
        data = b"changed file in the container\n" * 100
        info = tarfile.TarInfo("etc/motd")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    (dest / "rootfs-diff.tar").write_bytes(rootfs.getvalue())
    return dest


def pack(src: Path, out: Path, fmt: str, arcname: str = ".") -> Path:
    """Tar ``src`` the way podman's export does (members relative to the container dir)."""
    if fmt == "tar.zst":
        zstandard = pytest.importorskip("zstandard")
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as t:
            t.add(src, arcname=arcname)
        out.write_bytes(zstandard.ZstdCompressor().compress(raw.getvalue()))
        return out
    mode = {"tar": "w", "tar.gz": "w:gz", "tar.xz": "w:xz", "tar.bz2": "w:bz2"}[fmt]
    with tarfile.open(out, mode) as t:
        t.add(src, arcname=arcname)
    return out


def evil_tar(out: Path, members, *, compress: bool = False) -> Path:
    """An archive from (TarInfo, data) pairs, written as given: nothing is sanitised."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    out.write_bytes(gzip.compress(raw.getvalue()) if compress else raw.getvalue())
    return out


def file_member(name: str, data: bytes = b"x") -> tuple:
    return tarfile.TarInfo(name), data


def link_member(name: str, target: str, kind=tarfile.SYMTYPE) -> tuple:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def real_members(name: str = "tree", prefix: str = "checkpoint/") -> list:
    """The real images of a corpus checkpoint as members under ``prefix``."""
    src = corpus_dir(name)
    return [file_member(prefix + p.name, p.read_bytes()) for p in sorted(src.iterdir()) if p.is_file()]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """TMPDIR for the extraction, so a test can see that nothing is left behind."""
    d = tmp_path / "tmpdir"
    d.mkdir()
    monkeypatch.setenv("TMPDIR", str(d))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    return d


def model_facts(cp: Checkpoint) -> dict:
    """What show --format json says of a checkpoint, minus what depends on where it sits."""
    d = checkpoint_dict(cp)
    for key in ("path", "source", "images", "parent_chain"):
        d.pop(key)
    return d


# --- directories ---------------------------------------------------------------


def test_bare_directory_is_unchanged():
    src = corpus_dir("tree")
    s = resolve(src)
    assert (s.kind, s.archive, s.images, s.images_dir, s.metadata) == ("images", None, "", str(src), {})
    cp = Checkpoint(src)
    assert cp.path == cp.origin == cp.shown_path == str(src)
    assert checkpoint_dict(cp)["source"] == {"kind": "images", "archive": None, "images": "", "container": None}


def test_podman_directory_reads_like_the_bare_one(tmp_path):
    bare = Checkpoint(corpus_dir("tree"))
    ctr = container_dir(corpus_dir("tree"), tmp_path / "userdata")
    cp = Checkpoint(ctr)
    assert cp.path == str(ctr / "checkpoint") and cp.origin == str(ctr)
    assert model_facts(cp) == model_facts(bare)
    # stats-dump sits beside checkpoint/ in podman's layout and is still read
    assert cp.dump_stats == bare.dump_stats and cp.dump_stats["pages_written"] == 118
    d = checkpoint_dict(cp)
    assert d["path"] == str(ctr)
    assert d["source"] == {
        "kind": "podman",
        "archive": None,
        "images": "checkpoint",
        "container": {
            "engine": "Podman",
            "name": "ticker-tree",
            "id": PODMAN_ID,
            "image": "registry.example.org/ticker:1.4",
            "runtime": "crun",
            "created": "2026-11-20T10:00:00.123456789Z",
            "checkpointed": "2026-11-20T10:05:00.5Z",
            "command": ["/usr/local/bin/tree", "--depth", "3"],
            "rootfs_diff_bytes": (ctr / "rootfs-diff.tar").stat().st_size,
            "files": ["config.dump", "network.status", "rootfs-diff.tar", "spec.dump", "stats-dump"],
        },
    }


def test_crio_directory_metadata(tmp_path):
    ctr = container_dir(corpus_dir("tree"), tmp_path / "ctr", CRIO_CONFIG, CRIO_SPEC)
    s = resolve(ctr)
    assert s.kind == "crio"
    m = s.metadata
    assert (m["engine"], m["name"], m["pod"], m["namespace"]) == ("CRI-O", "app", "web-5d9f", "shop")
    assert m["created"] == "2026-11-19T08:00:01.5Z"  # CRI-O's own annotation, as checkpointctl shows it
    assert (m["image"], m["runtime"], m["id"]) == ("quay.io/shop/web:2.1", "runc", CRIO_CONFIG["id"])


def test_containerd_and_unknown_engines(tmp_path):
    spec = {
        "annotations": {
            "io.kubernetes.cri.container-name": "api",
            "io.kubernetes.cri.sandbox-name": "api-7c",
            "io.kubernetes.cri.sandbox-namespace": "prod",
        }
    }
    s = resolve(container_dir(corpus_dir("tree"), tmp_path / "a", {"id": "abc"}, spec))
    assert s.kind == "containerd"
    assert s.metadata["name"] == "api" and s.metadata["pod"] == "api-7c" and s.metadata["namespace"] == "prod"
    s = resolve(container_dir(corpus_dir("tree"), tmp_path / "b", {"id": "abc", "name": "x"}, {}))
    assert s.kind == "container" and s.metadata["name"] == "x" and "engine" not in s.metadata


def test_show_text_header_names_the_container(tmp_path, cli):
    ctr = container_dir(corpus_dir("tree"), tmp_path / "userdata", CRIO_CONFIG, CRIO_SPEC)
    r = cli("show", str(ctr), "--view", "ps")
    assert r.returncode == 0, r.stderr
    bare = cli("show", str(corpus_dir("tree")), "--view", "ps")
    assert r.stdout.splitlines()[-6:] == bare.stdout.splitlines()[-6:]  # the same process table
    r = cli("show", str(ctr))
    head = r.stdout.splitlines()[:4]
    assert head[0] == f"checkpoint {ctr}"
    assert head[1] == "  CRI-O container checkpoint, images in checkpoint/"
    assert (
        head[2] == "  container app (c0ffee001122), pod web-5d9f, namespace shop, image quay.io/shop/web:2.1, "
        "runtime runc, engine CRI-O"
    )
    assert "4 processes, 7 threads, 12 fds, 98 VMAs" in r.stdout


def test_bad_config_dump_is_a_problem_not_a_refusal(tmp_path, cli):
    ctr = container_dir(corpus_dir("tree"), tmp_path / "userdata")
    (ctr / "config.dump").write_text('{"id": "abc", "name": ')
    cp = Checkpoint(ctr)
    assert len(cp.processes) == 4
    assert [p.one_line() for p in cp.problems] == [
        f"{ctr / 'config.dump'}: not JSON: Expecting value: line 1 column 23 (char 22)"
    ]
    assert cp.source.kind == "podman"  # spec.dump still names the engine
    r = cli("show", str(ctr), "--format", "json")
    assert r.returncode == 2 and json.loads(r.stdout)["summary"]["processes"] == 4
    assert r.stderr.count("\n") == 1 and "config.dump: not JSON" in r.stderr


def test_liberty_layouts(tmp_path):
    """Open Liberty InstantOn writes criu's images to <server>/workarea/checkpoint/image/."""
    server = tmp_path / "defaultServer"
    image = server / "workarea" / "checkpoint" / "image"
    shutil.copytree(corpus_dir("jvm"), image)
    (server / "workarea" / "checkpoint" / ".env.properties").write_text("")
    bare = model_facts(Checkpoint(corpus_dir("jvm")))
    for given in (server, server / "workarea", server / "workarea" / "checkpoint", image):
        s = resolve(given)
        assert s.kind == "liberty" and s.images_dir == str(image), given
        assert s.images == ("" if given == image else os.path.relpath(image, given))
    assert model_facts(Checkpoint(server)) == bare


def test_openj9_checkpoint_data_dir_is_a_plain_image_dir(tmp_path):
    """OpenJ9's CRIUSupport dumps straight into the directory it is given (checkpointData): nothing to find."""
    d = tmp_path / "checkpointData"
    shutil.copytree(corpus_dir("jvm"), d)
    s = resolve(d)
    assert (s.kind, s.images_dir) == ("images", str(d))


def test_not_a_checkpoint_directory_keeps_its_message(tmp_path):
    (tmp_path / "checkpoint").mkdir()
    with pytest.raises(InspectError, match="not a CRIU checkpoint"):
        Checkpoint(tmp_path)


# --- archives --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "tar.zst", "tar.xz"])
def test_podman_export_archive(tmp_path, private_tmp, fmt):
    ctr = container_dir(corpus_dir("tree"), tmp_path / "userdata")
    (tmp_path / "input").mkdir()
    arc = pack(ctr, tmp_path / "input" / f"chk.{fmt}", fmt)
    assert archive_format(str(arc)) == fmt
    cp = Checkpoint(arc)
    tmp = cp.path
    assert tmp.startswith(str(private_tmp) + "/criu-inspect-") and tmp.endswith("/checkpoint")
    assert os.listdir(tmp_path / "input") == [arc.name]  # nothing written beside the input
    assert model_facts(cp) == model_facts(Checkpoint(corpus_dir("tree")))
    src = checkpoint_dict(cp)["source"]
    assert (src["kind"], src["archive"], src["images"]) == ("podman", fmt, "checkpoint")
    assert src["container"]["name"] == "ticker-tree" and src["container"]["rootfs_diff_bytes"] == 10240
    assert cp.shown_path == f"{arc}!/checkpoint"
    # only the checkpoint's members were written: no rootfs diff
    assert sorted(os.listdir(os.path.dirname(tmp))) == [
        "checkpoint",
        "config.dump",
        "network.status",
        "spec.dump",
        "stats-dump",
    ]
    # pages stay mmap-able files
    reader = cp.page_reader(15783)
    assert reader is not None
    cp.source.cleanup()
    assert os.listdir(private_tmp) == []


def test_extraction_goes_when_the_checkpoint_does(tmp_path, private_tmp):
    arc = pack(container_dir(corpus_dir("tree"), tmp_path / "u"), tmp_path / "c.tar", "tar")
    cp = Checkpoint(arc)
    assert len(os.listdir(private_tmp)) == 1
    del cp
    gc.collect()
    assert os.listdir(private_tmp) == []


def _killed_mid_show(arc, private_tmp, signo: int):
    """criu-inspect show ARC, which sends itself ``signo`` once the archive is extracted."""
    import subprocess

    code = (
        "import os, signal, sys, time; from inspector import cli; from inspector.commands import show; "
        "from inspector.model.checkpoint import Checkpoint\n"
        "def run(args):\n"
        "    cp = Checkpoint(args.paths[0]); print(len(os.listdir(os.environ['TMPDIR']))); sys.stdout.flush()\n"
        f"    os.kill(os.getpid(), {int(signo)}); time.sleep(30)\n"
        f"show.run = run; sys.exit(cli.main(['show', {str(arc)!r}]))"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent.parent), TMPDIR=str(private_tmp))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


def test_sigterm_still_cleans_up(tmp_path, private_tmp):
    """A CI job killed with SIGTERM in the middle of a check leaves no extraction behind."""
    arc = pack(container_dir(corpus_dir("tree"), tmp_path / "u"), tmp_path / "c.tar", "tar")
    r = _killed_mid_show(arc, private_tmp, signal.SIGTERM)
    assert r.stdout.strip() == "1" and r.returncode == 128 + 15, (r.returncode, r.stdout, r.stderr)
    assert r.stderr == ""
    assert os.listdir(private_tmp) == []


def test_what_sigkill_leaves_the_next_run_removes(tmp_path, private_tmp, cli):
    """SIGKILL cannot be caught: the extraction stays, named with the dead pid, and the next run removes it."""
    arc = pack(container_dir(corpus_dir("tree"), tmp_path / "u"), tmp_path / "c.tar", "tar")
    r = _killed_mid_show(arc, private_tmp, signal.SIGKILL)
    assert r.returncode == -signal.SIGKILL and r.stdout.strip() == "1"
    left = os.listdir(private_tmp)
    assert len(left) == 1 and left[0].startswith("criu-inspect-")
    alive = private_tmp / f"criu-inspect-{os.getpid()}-keep"  # a live process's extraction is not touched
    alive.mkdir()
    assert cli("show", str(arc), env={"TMPDIR": str(private_tmp)}).returncode == 0
    assert os.listdir(private_tmp) == [alive.name]


def test_kubelet_crio_archive(tmp_path, private_tmp, cli):
    """The kubelet's checkpoint-<pod>_<namespace>-<container>-<time>.tar, written by CRI-O."""
    ctr = container_dir(corpus_dir("tree"), tmp_path / "ctr", CRIO_CONFIG, CRIO_SPEC)
    arc = pack(ctr, tmp_path / "checkpoint-web-5d9f_shop-app-2026-11-20T11:00:00Z.tar", "tar")
    r = cli("show", str(arc), "--format", "json", env={"TMPDIR": str(private_tmp)})
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["path"] == str(arc)
    assert d["source"]["kind"] == "crio" and d["source"]["archive"] == "tar"
    assert d["source"]["container"]["pod"] == "web-5d9f"
    assert d["summary"]["processes"] == 4 and d["summary"]["pages"]["present"] == 118
    assert os.listdir(private_tmp) == []  # the CLI cleaned up at exit


def test_archive_of_a_bare_image_dir(tmp_path, private_tmp):
    arc = pack(corpus_dir("tree"), tmp_path / "tree.tgz", "tar.gz", arcname="build/checkpointData")
    s = resolve(arc)
    assert (s.kind, s.archive, s.images) == ("images", "tar.gz", "build/checkpointData")
    assert sorted(os.listdir(s.images_dir)) == sorted(os.listdir(corpus_dir("tree")))
    s.cleanup()


def test_archive_with_a_predump_chain(tmp_path, private_tmp):
    """A pre-dump chain built from a real checkpoint (tests/synth.py), packed: the head is the one opened."""
    ctr = container_dir(corpus_dir("tree"), tmp_path / "u")
    shutil.rmtree(ctr / "checkpoint")
    moved = make_predump_chain(corpus_dir("tree"), ctr / "checkpoint", 15783)
    assert os.readlink(ctr / "checkpoint" / "parent") == "../checkpoint-predump"
    arc = pack(ctr, tmp_path / "chain.tar.gz", "tar.gz")
    cp = Checkpoint(arc)
    assert cp.source.images == "checkpoint"
    d = checkpoint_dict(cp)
    assert d["parent_chain"] == [f"{arc}!/checkpoint-predump"]
    assert d["summary"]["pages"]["in_parent"] == moved["moved_pages"] > 0
    direct = Checkpoint(ctr)
    assert model_facts(cp) == model_facts(direct)
    # the parent's pages are read through the chain, as from the directory
    pid = 15783
    vaddr, n = moved["moved_runs"][0]
    assert cp.page_reader(pid).read(vaddr, n * 4096) == direct.page_reader(pid).read(vaddr, n * 4096)


def test_check_and_diff_on_archives(tmp_path, private_tmp, cli):
    env = {"TMPDIR": str(private_tmp)}
    arc1 = pack(container_dir(corpus_dir("pair-1"), tmp_path / "p1"), tmp_path / "p1.tar.gz", "tar.gz")
    bare1, bare2 = str(corpus_dir("pair-1")), str(corpus_dir("pair-2"))

    def findings(path):
        r = cli("check", path, "--uid", "1001", "--format", "json", env=env)
        assert r.returncode in (0, 1), r.stderr
        return r, [(f["code"], f.get("pid"), f["message"]) for f in json.loads(r.stdout)["findings"]]

    r_arc, f_arc = findings(str(arc1))
    _, f_bare = findings(bare1)
    assert f_arc == f_bare
    assert json.loads(r_arc.stdout)["checkpoint"] == f"{arc1}!/checkpoint"

    same = cli("diff", str(arc1), bare1, env=env)
    assert same.returncode == 0 and same.stdout.startswith("identical"), same.stdout + same.stderr

    def diff_json(a, b):
        r = cli("diff", a, b, "--pages", "--format", "json", env=env)
        assert r.returncode == 1, r.stderr
        d = json.loads(r.stdout)
        d.pop("a"), d.pop("b")
        return d

    assert diff_json(str(arc1), bare2) == diff_json(bare1, bare2)
    assert os.listdir(private_tmp) == []


def test_zstd_without_zstandard_says_so(tmp_path, private_tmp, monkeypatch):
    zstandard = pytest.importorskip("zstandard")
    arc = tmp_path / "chk.tar.zst"
    arc.write_bytes(zstandard.ZstdCompressor().compress(b"\0" * 1024))
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(InspectError) as exc:
        resolve(arc)
    assert exc.value.one_line() == (
        f"{arc}: zstd-compressed archive: install the Python package zstandard (pip install zstandard), "
        "or decompress it first (zstd -d)"
    )
    assert os.listdir(private_tmp) == []


# --- archives that must be refused -------------------------------------------------


def refused(cli, arc: Path, private_tmp: Path, *what: str) -> str:
    r = cli("show", str(arc), env={"TMPDIR": str(private_tmp)})
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith(f"criu-inspect: error: {arc}: "), lines[0]
    for w in what:
        assert w in lines[0], lines[0]
    assert r.stdout == ""
    assert os.listdir(private_tmp) == [], "the extraction was left behind"
    return lines[0]


def test_traversal_is_refused(tmp_path, private_tmp, cli):
    outside = tmp_path / "x"
    arc = evil_tar(tmp_path / "t.tar", real_members()[:3] + [file_member("checkpoint/../../x", b"pwned")])
    refused(cli, arc, private_tmp, "member checkpoint/../../x escapes the archive")
    assert not outside.exists()
    arc = evil_tar(tmp_path / "t2.tar.gz", [file_member("../x", b"pwned")], compress=True)
    refused(cli, arc, private_tmp, "member ../x escapes the archive")
    arc = evil_tar(tmp_path / "t3.tar", [file_member("/tmp/x.img", b"pwned")])
    refused(cli, arc, private_tmp, "member /tmp/x.img escapes the archive")


def test_symlink_escapes_are_refused(tmp_path, private_tmp, cli):
    members = real_members()
    arc = evil_tar(tmp_path / "a.tar", members + [link_member("checkpoint/parent", "/etc")])
    refused(cli, arc, private_tmp, "member checkpoint/parent links outside the archive (to /etc)")
    arc = evil_tar(tmp_path / "b.tar", members + [link_member("checkpoint/parent", "../../..")])
    refused(cli, arc, private_tmp, "links outside the archive (to ../../..)")
    # each link lexically inside, the pair outside: d/s -> ../.. is the root, d/t -> s/.. its parent
    arc = evil_tar(
        tmp_path / "c.tar", members + [link_member("checkpoint/d/s", "../.."), link_member("checkpoint/d/t", "s/..")]
    )
    refused(cli, arc, private_tmp, "member checkpoint/d/t links outside the archive (to s/..)")
    # a member written through a link (inside the archive, still refused: the name would lie)
    arc = evil_tar(tmp_path / "d.tar", members + [link_member("checkpoint/s", "."), file_member("checkpoint/s/a.img")])
    refused(cli, arc, private_tmp, "member checkpoint/s/a.img goes through a link (checkpoint/s)")
    # a hard link to something that was not extracted
    arc = evil_tar(tmp_path / "e.tar", members + [link_member("checkpoint/h.img", "etc/passwd", tarfile.LNKTYPE)])
    refused(cli, arc, private_tmp, "member checkpoint/h.img is a hard link to etc/passwd")


def test_device_files_are_refused(tmp_path, private_tmp, cli):
    dev = tarfile.TarInfo("checkpoint/null")
    dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
    arc = evil_tar(tmp_path / "dev.tar", real_members() + [(dev, None)])
    refused(cli, arc, private_tmp, "member checkpoint/null is a device file")


def _header_only(name: str, size: int) -> bytes:
    """A tar whose one member declares ``size`` bytes and holds none."""
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024


def test_huge_declared_sizes_are_refused_before_writing(tmp_path, private_tmp, cli):
    arc = tmp_path / "huge.tar"
    arc.write_bytes(_header_only("checkpoint/pages-1.img", 1 << 40))
    refused(
        cli, arc, private_tmp, "member checkpoint/pages-1.img declares 1099511627776 bytes, more than the archive holds"
    )
    arc = tmp_path / "huge.tar.gz"
    arc.write_bytes(gzip.compress(_header_only("checkpoint/pages-1.img", 1 << 40)))
    line = refused(cli, arc, private_tmp, "declares 1099511627776 bytes: the checkpoint would exceed")
    assert "x the archive's" in line and "CRIU_INSPECT_MAX_EXTRACT" in line
    # a GNU long-name header tarfile would read into memory whole
    first = _header_only("checkpoint/a.img", 0)[:512]
    longname = tarfile.TarInfo("././@LongLink")
    longname.type, longname.size = tarfile.GNUTYPE_LONGNAME, 1 << 30
    arc = tmp_path / "longname.tar.gz"
    arc.write_bytes(gzip.compress(first + longname.tobuf(format=tarfile.USTAR_FORMAT) + b"\0" * 1024))
    refused(cli, arc, private_tmp, "bad tar header after 1 members: extended header of 1073741824 bytes")


def test_extraction_limit_can_be_set(tmp_path, private_tmp, cli):
    arc = pack(container_dir(corpus_dir("tree"), tmp_path / "u"), tmp_path / "c.tar.gz", "tar.gz")
    r = cli("show", str(arc), env={"TMPDIR": str(private_tmp), "CRIU_INSPECT_MAX_EXTRACT": "100K"})
    assert r.returncode == 2 and "(CRIU_INSPECT_MAX_EXTRACT=100K)" in r.stderr, r.stderr
    assert os.listdir(private_tmp) == []
    r = cli("show", str(arc), "--view", "ps", env={"TMPDIR": str(private_tmp), "CRIU_INSPECT_MAX_EXTRACT": "1M"})
    assert r.returncode == 0, r.stderr


def test_broken_archives(tmp_path, private_tmp, cli):
    arc = pack(container_dir(corpus_dir("tree"), tmp_path / "u"), tmp_path / "c.tar.gz", "tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(arc.read_bytes()[: arc.stat().st_size // 2])
    refused(cli, cut, private_tmp, "archive is truncated or corrupt")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(gzip.compress(os.urandom(4096)))
    refused(cli, junk, private_tmp, "tar")


def test_archives_without_one_checkpoint(tmp_path, private_tmp, cli):
    arc = evil_tar(
        tmp_path / "meta.tar",
        [
            file_member("config.dump", b"{}"),
            file_member("spec.dump", b"{}"),
            file_member("rootfs-diff.tar", b"\0" * 1024),
        ],
    )
    refused(cli, arc, private_tmp, "archive has no checkpoint/ directory")
    arc = evil_tar(tmp_path / "other.tar", [file_member("README", b"hello")])
    refused(cli, arc, private_tmp, "archive holds no CRIU checkpoint")
    arc = evil_tar(tmp_path / "two.tar", real_members(prefix="a/") + real_members(prefix="b/"))
    refused(cli, arc, private_tmp, f"archive holds 2 checkpoints (a/, b/): name one, e.g. {arc}!/a")


def test_naming_one_checkpoint_of_an_archive(tmp_path, private_tmp, cli):
    """ARCHIVE!/DIR, the form errors name members in, picks one checkpoint of several (a pod's containers)."""
    arc = evil_tar(
        tmp_path / "pod.tar",
        real_members("tree", prefix="web/checkpoint/")
        + [
            file_member("web/config.dump", json.dumps(PODMAN_CONFIG).encode()),
            file_member("web/spec.dump", json.dumps(PODMAN_SPEC).encode()),
        ]
        + real_members("pair-1", prefix="db/checkpoint/"),
    )
    s = resolve(f"{arc}!/web")
    assert (s.kind, s.images, s.origin, s.metadata["name"]) == ("podman", "checkpoint", f"{arc}!/web", "ticker-tree")
    assert s.shown(s.images_dir) == f"{arc}!/web/checkpoint"
    s.cleanup()
    r = cli("show", f"{arc}!/db/checkpoint", "--format", "json", env={"TMPDIR": str(private_tmp)})
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["path"], d["source"]["images"], d["summary"]) == (
        f"{arc}!/db/checkpoint",
        "",
        checkpoint_dict(Checkpoint(corpus_dir("pair-1")))["summary"],
    )
    r = cli("show", f"{arc}!/cache", env={"TMPDIR": str(private_tmp)})
    assert r.returncode == 2 and r.stderr.strip() == (
        f"criu-inspect: error: {arc}!/cache: no such directory among the archive's checkpoint members"
    )
    r = cli("show", f"{arc}!/../etc", env={"TMPDIR": str(private_tmp)})
    assert r.returncode == 2 and "member ../etc escapes the archive" in r.stderr
    assert os.listdir(private_tmp) == []


def test_a_plain_file_is_still_not_a_directory(cli):
    f = corpus_dir("tree") / "core-15783.img"
    r = cli("show", str(f))
    assert r.returncode == 2 and "not a directory" in r.stderr
