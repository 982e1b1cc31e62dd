"""`criu-inspect decode FILE` against `crit decode -i FILE` on every corpus image.

For every image file of the corpus (sample-images/) (all checkpoints and _failed-dumps)
crit 3.17 can decode, our JSON must be crit's JSON, text for text, with and
without --pretty, once the fields crit's schema lacks are taken out of ours:
exactly the fields of schema.NEWER_FIELDS, and pagemap field 2, which CRIU
4.2 calls compat_nr_pages and crit calls nr_pages. Those fields must be in
our output wherever the MANIFEST ("Debian crit 3.17.1 over every image") says
the images carry them. Where crit cannot decode a file (raw pages), we fail
too, with one line and exit 2.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

import pytest

from inspector import cli as inspector_cli
from inspector.codec import schema
from inspector.codec.image import open_image
from inspector.model.names import PAGE_SIZE

F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux)

from ..conftest import CORPUS, ROOT
from ..crit_ref import corpus_image_files, crit_decode_all, crit_run, require_crit

FILES = corpus_image_files()
IDS = [str(f.relative_to(CORPUS)) for f in FILES]

NEWER = defaultdict(set)  # message name -> field names crit 3.17's schema lacks
for _file, _message, _field, *_rest in schema.NEWER_FIELDS:
    NEWER[_message].add(_field)
RENAMED = {(message, new): "nr_pages" for (_f, message, _n), new in schema.RENAMED_FIELDS.items()}


def ours(path, pretty: bool) -> tuple[int, str, str]:
    """`criu-inspect decode PATH [--pretty]` through the real CLI entry, in-process (fast)."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["decode", str(path)] + (["--pretty"] if pretty else [])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = inspector_cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def strip_newer(value: dict, desc, path: str, taken: set[str]) -> dict:
    """Our entry dict with the fields crit lacks removed (renamed ones renamed back)."""
    out = {}
    for key, item in value.items():
        if key == "extra" and key not in desc.fields_by_name:
            out[key] = item
            continue
        field = desc.fields_by_name[key]
        here = f"{path}.{key}"
        if key in NEWER.get(desc.name, ()):
            taken.add(here)
            continue
        name = RENAMED.get((desc.name, key), key)
        if name != key:
            taken.add(here)
        if field.message_type is not None:
            if field.is_repeated:
                item = [strip_newer(x, field.message_type, here + "[]", taken) for x in item]
            else:
                item = strip_newer(item, field.message_type, here, taken)
        out[name] = item
    return out


def as_crit_would(path, text: str, pretty: bool) -> tuple[str, set[str]]:
    data = json.loads(text)
    image = open_image(path)
    assert len(data["entries"]) == len(image.entries)
    taken: set[str] = set()
    data["entries"] = [
        strip_newer(d, e.message.DESCRIPTOR, ".entries[]", taken) for d, e in zip(data["entries"], image.entries)
    ]
    return json.dumps(data, indent=4 if pretty else None) + "\n", taken


def manifest_dropped_fields() -> list[tuple[re.Pattern, str, list[str]]]:
    """The MANIFEST's table of fields crit 3.17 drops: (file name pattern, path, dirs)."""
    text = (CORPUS / "MANIFEST.md").read_text()
    section = text.split("## Debian crit 3.17.1 over every image", 1)[1]
    block = section.split("```", 2)[1]
    rows = []
    for line in block.strip().splitlines():
        file_name, path, dirs = line.split("\t")
        pattern = re.compile("^" + re.escape(file_name).replace("N", r"\d+") + "$")
        rows.append((pattern, path, dirs.split(": ", 1)[1].split(",")))
    assert rows, "MANIFEST section lists no fields"
    return rows


def has_path(value, parts: list[str]) -> bool:
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if key:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    if many:
        return isinstance(value, list) and any(has_path(v, rest) for v in value)
    return has_path(value, rest)


@pytest.fixture(scope="session")
def crit_outputs():
    return crit_decode_all()


@pytest.mark.parametrize("pretty", [False, True], ids=["plain", "pretty"])
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_decode_equals_crit(path, pretty, crit_outputs):
    crit_code, crit_out, _ = crit_outputs[(str(path), pretty)]
    code, out, err = ours(path, pretty)
    if crit_code != 0:
        # crit: "Unknown magic ... raw data(i.e. pages.img)?"; we: one line, exit 2
        assert path.name.startswith("pages-"), f"crit failed on {path.name}"
        assert (code, out) == (2, "")
        assert err.count("\n") == 1 and err.startswith(f"criu-inspect: error: {path}: ")
        return
    assert code == 0, err
    assert err == ""
    # our own text is what json.dumps makes (so crit's layout, indent 4 under --pretty)
    assert out == json.dumps(json.loads(out), indent=4 if pretty else None) + "\n"
    comparable, taken = as_crit_would(path, out, pretty)
    assert comparable == crit_out
    # what we took out is exactly what the MANIFEST says crit 3.17 drops (+ the renamed count)
    listed = {p for pattern, p, _dirs in manifest_dropped_fields() if pattern.match(path.name)}
    if path.name.startswith("pagemap-"):
        listed.add(".entries[].nr_pages")  # field 5; crit prints field 2 under this name
    assert taken <= listed


def test_newer_fields_present_where_the_manifest_lists_them():
    """Every (file, field, checkpoint) of the MANIFEST table is in our decode output."""
    checked = 0
    for pattern, path, dirs in manifest_dropped_fields():
        parts = path.split(".")[1:]
        for d in dirs:
            folder = CORPUS / d
            files = [f for f in sorted(folder.iterdir()) if pattern.match(f.name)]
            assert files, f"{d}: no {pattern.pattern}"
            found = []
            for f in files:
                code, out, err = ours(f, False)
                assert code == 0, err
                found.append(has_path(json.loads(out), parts))
            assert any(found), f"{d}/{pattern.pattern}: {path} missing from our decode"
            checked += 1
    assert checked >= 100


def test_decode_compared_every_decodable_corpus_file(crit_outputs):
    """The comparison covers the corpus: every image but raw pages is decodable by both."""
    decodable = [f for f in FILES if crit_outputs[(str(f), False)][0] == 0]
    raw = [f for f in FILES if f.name.startswith("pages-")]
    assert len(decodable) + len(raw) == len(FILES)
    assert len(decodable) >= 300
    kinds = {open_image(f).name for f in decodable}
    assert {"INVENTORY", "CORE", "PAGEMAP", "GHOST_FILE", "TCP_STREAM", "STATS", "FILE_LOCKS", "REMAP_FPATH"} <= kinds


def test_pagemap_nr_pages_field5_counts_the_pages_file():
    """CRIU 4.2 writes the page count to field 5; crit 3.17 prints field 2 (always 0 here)."""
    for name in ("plain", "tree", "jvm"):
        folder = CORPUS / name
        for pm in sorted(folder.glob("pagemap-*.img")):
            data = json.loads(ours(pm, True)[1])
            head, *runs = data["entries"]
            present = sum(r["nr_pages"] for r in runs if "PE_PRESENT" in r["flags"])
            assert present > 0
            assert all(r["compat_nr_pages"] == 0 for r in runs)
            assert present * PAGE_SIZE == os.path.getsize(folder / f"pages-{head['pages_id']}.img")
            crit = json.loads(crit_run("decode", "-i", str(pm)).stdout)
            assert all(r["nr_pages"] == 0 for r in crit["entries"][1:])


def _one_file_per_kind() -> list:
    seen, picked = set(), []
    for f in FILES:
        kind = open_image(f).name
        if kind not in seen:
            seen.add(kind)
            picked.append(f)
    return picked


def test_crit_driver_equals_the_crit_executable(crit_outputs):
    """The one-process driver gives what /usr/bin/crit prints, for one file of every kind."""
    picked = _one_file_per_kind()
    assert len(picked) >= 15
    for f in picked:
        for pretty in (False, True):
            proc = crit_run("decode", "-i", str(f), *(["--pretty"] if pretty else []))
            code, out, _ = crit_outputs[(str(f), pretty)]
            assert (proc.returncode, proc.stdout) == (code, out), f


# --- the command line as a user meets it -------------------------------------


def test_raw_and_unknown_images_fail_in_one_line(cli, tmp_path):
    require_crit()
    pages = CORPUS / "plain" / "pages-1.img"
    proc = cli("decode", str(pages))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"criu-inspect: error: {pages}: PAGES image holds raw data, not entries: nothing to decode\n"
    assert crit_run("decode", "-i", str(pages)).returncode != 0  # crit cannot either

    log = CORPUS / "plain" / "dump.log"
    proc = cli("decode", str(log))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"criu-inspect: error: {log}: unknown image magic 0x")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr

    proc = cli("decode", str(tmp_path / "missing.img"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "No such file" in proc.stderr


def test_out_file_is_crits_out_file(cli, tmp_path):
    src = CORPUS / "ghost" / "ghost-file-1.img"
    ours_out, crit_out = tmp_path / "ours.json", tmp_path / "crit.json"
    proc = cli("decode", str(src), "--pretty", "-o", str(ours_out))
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    assert crit_run("decode", "-i", str(src), "--pretty", "-o", str(crit_out)).returncode == 0
    assert ours_out.read_bytes() == crit_out.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crit.json", "ours.json"]  # no temp left over
    ghost = json.loads(ours_out.read_text())
    assert ghost["magic"] == "GHOST_FILE" and ghost["entries"][0]["extra"]  # the deleted file's contents


def test_closed_pipe_ends_quietly():
    """`decode BIG --pretty | head -1`: exit 0, nothing on stderr (crit 3.17 prints a traceback)."""
    core = sorted((CORPUS / "jvm").glob("core-*.img"))[0]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)  # smaller than the output: the writer must block
    producer = subprocess.Popen(
        [sys.executable, "-m", "inspector", "decode", str(core), "--pretty"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = reader.readline()  # then close, as head does after its line
    _, err = producer.communicate(timeout=60)
    assert first == b"{\n"
    assert producer.returncode == 0
    assert err == b""


def test_stdin_like_crit():
    """`decode < FILE` (crit's default input) prints what `decode FILE` prints; bad input names <stdin>."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def run(data: bytes, *args):
        return subprocess.run(
            [sys.executable, "-m", "inspector", "decode", *args], input=data, capture_output=True, env=env, timeout=60
        )

    src = CORPUS / "tcp"
    stream = next(src.glob("tcp-stream-*.img"))
    for pretty in ([], ["--pretty"]):
        proc = run(stream.read_bytes(), *pretty)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.decode() == ours(stream, bool(pretty))[1]
        assert proc.stdout.decode() == crit_run("decode", "-i", str(stream), *pretty).stdout
    pages = (src / "pages-1.img").read_bytes()
    proc = run(pages, "-")
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode().startswith("criu-inspect: error: <stdin>: unknown image magic 0x")
    core = next(src.glob("core-*.img")).read_bytes()
    proc = run(core[:40])
    assert proc.returncode == 2
    size = int.from_bytes(core[8:12], "little")
    assert proc.stderr.decode() == (
        f"criu-inspect: error: <stdin>: entry size {size} is larger than the 28 bytes left in the file (offset 8)\n"
    )
