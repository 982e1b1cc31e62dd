"""`encode`: decode's JSON back into the image, byte for byte, and refusal of JSON that is not an image.

The yardstick of the round trip is the real image CRIU 4.2 wrote: decode ->
encode must give back the very bytes of every image file in sample-images/
(every checkpoint, parents and _failed-dumps included), from plain and from
--pretty JSON. Kinds the corpus lacks are built as test_decode_crit_synth
builds them (framed as CRIU frames them) and held to the same rule.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest

from inspector.codec import fromjson, schema
from inspector.codec.image import open_image
from inspector.codec.tojson import image_json, image_to_dict
from inspector.errors import InspectError

from ..conftest import ROOT, corpus_dir
from ..crit_ref import corpus_image_files
from .test_decode_crit_synth import build_images, msg, write_image

IMAGES = [p for p in corpus_image_files() if not open_image(p).raw]


def _id(path) -> str:
    return str(path.relative_to(ROOT / "sample-images"))


def cli_run(*args, input: bytes | None = None, cwd=None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CRIU_INSPECT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        check=False,
        input=input,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        timeout=120,
    )


# --- the round trip, over the whole corpus ------------------------------------------------


def test_corpus_holds_the_kinds_we_claim():
    """The corpus test below means something only if it covers these kinds (counted from the files)."""
    kinds = {open_image(p).name for p in IMAGES}
    assert len(IMAGES) > 300
    assert {
        "INVENTORY",
        "CORE",
        "MM",
        "PAGEMAP",
        "PSTREE",
        "FILES",
        "FDINFO",
        "FS",
        "IDS",
        "SECCOMP",
        "TIMENS",
        "STATS",
        "TTY_INFO",
        "FILE_LOCKS",
        "CGROUP",
        "REMAP_FPATH",
        "GHOST_FILE",
        "TCP_STREAM",
        "PIPES_DATA",
    } <= kinds
    assert any("_failed-dumps" in p.parts for p in IMAGES)


@pytest.mark.parametrize("path", IMAGES, ids=_id)
def test_decode_then_encode_is_byte_identical(path):
    original = path.read_bytes()
    image = open_image(path)
    for pretty in (False, True):
        text = image_json(image, pretty)
        assert fromjson.encode_json(text, str(path)) == original, f"{'pretty' if pretty else 'plain'} JSON"


def _bpfmap_and_signal_images(folder):
    keys, values = b"\x01\0\0\0\x02\0\0\0", b"valueONEvalueTWO"
    bpf = folder / "bpfmap-data.img"
    write_image(
        bpf,
        "BPFMAP_DATA",
        [
            (
                msg(
                    "bpfmap_data_pb2",
                    "bpfmap_data_entry",
                    map_id=3,
                    keys_bytes=len(keys),
                    values_bytes=len(values),
                    count=2,
                ),
                keys + values,
            ),
        ],
    )
    sig = folder / "signal-p-42.img"
    infos = [struct.pack("<3i", signo, 0, 0) + bytes(116) for signo in (10, 12)]
    write_image(sig, "SIGNAL", [(msg("siginfo_pb2", "siginfo_entry", siginfo=i), b"") for i in infos])
    return [bpf, sig]


def test_built_kinds_round_trip(tmp_path):
    """Pipe/FIFO data, socket queues, SysV shm/sem/msg, chunked and whole ghost files, IPv4/IPv6 addresses,
    mounts (dev), irmap (odev), memfd seals, inotify, bpf map data, signal queues."""
    paths = build_images(tmp_path) + _bpfmap_and_signal_images(tmp_path)
    assert len(paths) >= 15
    for path in paths:
        for pretty in (False, True):
            text = image_json(open_image(path), pretty)
            assert fromjson.encode_json(text, str(path)) == path.read_bytes(), (path.name, pretty)


def test_non_utf8_string_keeps_its_bytes(tmp_path):
    """A string field that is not UTF-8 (a file name with byte 0xff) decodes surrogate-escaped and encodes back."""
    src = open_image(corpus_dir("plain") / "files.img")
    path = tmp_path / "files.img"
    # the name gets a byte 0xff on the wire (protobuf would refuse to set it): lengths of reg and name grow by one
    out = bytearray(fromjson.header_for(schema.KINDS["FILES"]))
    for entry in src.entries:
        payload = entry.payload
        m = entry.message
        if m.HasField("reg") and m.reg.name == "/dev/null":
            name = m.reg.name.encode()
            reg = m.reg.SerializeToString()
            new_reg = reg.replace(bytes([len(name)]) + name, bytes([len(name) + 1]) + name + b"\xff")
            payload = payload.replace(bytes([len(reg)]) + reg, bytes([len(new_reg)]) + new_reg)
            assert payload != entry.payload
        out += struct.pack("<I", len(payload)) + payload
    path.write_bytes(bytes(out))
    names = [e["reg"]["name"] for e in image_to_dict(open_image(path))["entries"] if "reg" in e]
    assert "/dev/null\udcff" in names
    for pretty in (False, True):
        assert fromjson.encode_json(image_json(open_image(path), pretty), str(path)) == path.read_bytes()


# --- decode -> edit -> encode ----------------------------------------------------------


def test_edit_then_encode_then_decode_shows_the_edit(tmp_path, writable_copy):
    """The workflow of docs/encode.md on the plain checkpoint (MANIFEST: ticker, pid 14055, dumped as root)."""
    copy = writable_copy("plain")
    core = copy / "core-14055.img"
    doc = json.loads(cli_run("decode", "--pretty", str(core)).stdout)
    tc, creds = doc["entries"][0]["tc"], doc["entries"][0]["thread_core"]["creds"]
    assert (tc["comm"], creds["uid"], creds["euid"]) == ("ticker", 0, 0)  # as MANIFEST.md says
    tc["comm"] = "renamed"
    for key in ("uid", "euid", "suid", "fsuid"):
        creds[key] = 1001
    edited = tmp_path / "core.json"
    edited.write_text(json.dumps(doc, indent=4))
    proc = cli_run("encode", str(edited), "-o", str(core), "--force")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(cli_run("decode", "--pretty", str(core)).stdout) == doc  # exactly the edit, nothing else
    show = cli_run("show", str(copy)).stdout.decode()
    assert "14055 renamed  (pgid 14055 sid 14055 uid 1001)" in show


def test_edit_a_pretty_flags_string(tmp_path, writable_copy):
    """Flags are edited by name: fd 1 of plain (O_WRONLY on .../out) becomes O_RDWR."""
    copy = writable_copy("plain")
    files = copy / "files.img"
    doc = json.loads(cli_run("decode", "--pretty", str(files)).stdout)
    out = [e["reg"] for e in doc["entries"] if e.get("reg", {}).get("name", "").endswith("/data/plain/out")]
    assert len(out) == 1 and out[0]["flags"] == "O_WRONLY | O_LARGEFILE"
    out[0]["flags"] = "O_RDWR | O_LARGEFILE"
    (tmp_path / "files.json").write_text(json.dumps(doc))
    assert cli_run("encode", str(tmp_path / "files.json"), "-o", str(files), "--force").returncode == 0
    show = cli_run("show", str(copy)).stdout.decode()
    assert "1   REG   /tmp/criu-work/data/plain/out  O_RDWR|O_LARGEFILE" in show


# --- refusals: one line, exit 2, nothing written -------------------------------------------


def _refused(tmp_path, text: str, *expected: str):
    src = tmp_path / "in.json"
    src.write_text(text)
    out = tmp_path / "out.img"
    proc = cli_run("encode", str(src), "-o", str(out))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b""
    assert err.startswith(f"criu-inspect: error: {src}: ") and err.count("\n") == 1, err
    for part in expected:
        assert part in err, err
    assert not out.exists() and not [n for n in os.listdir(tmp_path) if n.startswith(".criu-inspect-")]
    return err


def test_json_syntax_error_names_line_and_column(tmp_path):
    text = '{\n    "magic": "CORE",\n    "entries": [}\n'  # the } is at line 3, column 17
    _refused(tmp_path, text, "not valid JSON", "line 3 column 17")


def test_repeated_key_is_refused(tmp_path):
    _refused(tmp_path, '{"magic": "FS", "magic": "CORE", "entries": []}', "'magic' appears twice")


def test_repeated_key_among_many_is_named(tmp_path):
    """The last of 40,000 keys repeats the first (the check was quadratic: this took 39 s)."""
    keys = ",".join(f'"k{i}": 1' for i in range(40_000))
    _refused(tmp_path, '{"magic": "PSTREE", "entries": [{' + keys + ', "k0": 2}]}', "'k0' appears twice")


@pytest.mark.parametrize("field", ["comm", "name"])
def test_a_lone_surrogate_is_not_text(tmp_path, field):
    """decode writes non-UTF-8 bytes as \\udc80-\\udcff; \\ud800 is no byte: one line, not an internal error."""
    if field == "comm":
        doc = _plain_json("core-14055.img")
        doc["entries"][0]["tc"]["comm"] = "\ud800x"
        where = "entries[0].tc.comm"
    else:
        doc = json.loads(image_json(open_image(corpus_dir("unixsock") / "files.img")))
        i = next(k for k, e in enumerate(doc["entries"]) if "usk" in e)
        doc["entries"][i]["usk"]["name"] = "\ud800"
        where = f"entries[{i}].usk.name"
    _refused(tmp_path, json.dumps(doc), where, "lone surrogate")


def _plain_json(name: str, pretty: bool = False) -> dict:
    return json.loads(image_json(open_image(corpus_dir("plain") / name), pretty))


def test_unknown_magic(tmp_path):
    _refused(tmp_path, '{"magic": "NOPE", "entries": []}', 'magic: unknown image magic "NOPE"')


def test_raw_pages_are_out_of_scope(tmp_path):
    _refused(tmp_path, '{"magic": "PAGES", "entries": []}', "raw images (pages, tarballs) have no entries")


def test_unknown_field_is_named_by_its_path(tmp_path):
    doc = _plain_json("core-14055.img")
    doc["entries"][0]["tc"]["timers"]["real"]["isecs"] = 1
    _refused(tmp_path, json.dumps(doc), "entries[0].tc.timers.real.isecs: no such field in itimer_entry")


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("tc", "comm"), 7, "entries[0].tc.comm: expected a string, got 7"),
        (("tc", "task_state"), "Sleeping", 'entries[0].tc.task_state: unknown name "Sleeping"'),
        (("tc", "exit_code"), 1.5, "entries[0].tc.exit_code: expected an integer, got 1.5"),
        (("tc", "personality"), 1 << 32, "entries[0].tc.personality: 4294967296 is out of range"),
        (("tc", "blk_sigset"), "0xzz", 'entries[0].tc.blk_sigset: expected an integer, got "0xzz"'),
        (("mtype",), "SPARC", 'entries[0].mtype: unknown march value "SPARC"'),
        (("thread_core", "creds", "cap_eff"), 5, "entries[0].thread_core.creds.cap_eff: expected a list"),
        (("thread_core", "creds"), [], "entries[0].thread_core.creds: expected an object"),
        (("thread_info", "fpregs", "xsave", "ymmh_space"), ["AAAA"], "xsave.ymmh_space[0]: expected an integer"),
    ],
)
def test_wrong_type_is_named_by_its_path(tmp_path, path, value, expected):
    doc = _plain_json("core-14055.img", pretty=True)
    target = doc["entries"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    _refused(tmp_path, json.dumps(doc), expected)


def test_unknown_flag_name(tmp_path):
    doc = _plain_json("mm-14055.img", pretty=True)
    doc["entries"][0]["vmas"][2]["prot"] = "PROT_READ | PROT_BOGUS"
    _refused(tmp_path, json.dumps(doc), "entries[0].vmas[2].prot: unknown flag 'PROT_BOGUS'")


def test_missing_required_field(tmp_path):
    doc = _plain_json("pagemap-14055.img")
    del doc["entries"][1]["vaddr"]
    _refused(tmp_path, json.dumps(doc), "entries[1]: pagemap_entry lacks required field(s) vaddr")


def test_extra_payload_must_match_its_length_field(tmp_path):
    doc = _plain_json("pagemap-14055.img")
    assert "extra" not in doc["entries"][0]
    doc["entries"][0]["extra"] = ""
    _refused(tmp_path, json.dumps(doc), "entries[0].extra: PAGEMAP entries carry no extra payload")
    tcp = next(p for p in IMAGES if p.name.startswith("tcp-stream-"))
    doc = json.loads(image_json(open_image(tcp)))
    doc["entries"][0]["extra"]["inq"] = "QUJD\n"  # 3 bytes
    inq_len = doc["entries"][0]["inq_len"]
    _refused(tmp_path, json.dumps(doc), f"entries[0].extra.inq: 3 bytes, but the entry's inq_len says {inq_len}")


def test_bad_base64(tmp_path):
    """A bytes field (a queued signal's siginfo) and an extra payload (a ghost file's contents)."""
    work = tmp_path / "built"
    work.mkdir()
    signal = _bpfmap_and_signal_images(work)[1]
    doc = json.loads(image_json(open_image(signal)))
    doc["entries"][1]["siginfo"] = "not base64!"
    _refused(tmp_path, json.dumps(doc), "entries[1].siginfo: not valid base64")
    ghost = next(p for p in IMAGES if p.name.startswith("ghost-file-"))
    doc = json.loads(image_json(open_image(ghost)))
    doc["entries"][0]["extra"] = "@@@@"
    _refused(tmp_path, json.dumps(doc), "entries[0].extra: not valid base64")


def test_not_an_image_object(tmp_path):
    _refused(tmp_path, "[1, 2]", '(top level): expected {"magic": ..., "entries": [...]}')
    _refused(tmp_path, '{"magic": "CORE", "entries": [], "count": 1}', "count: no such key in an image")


def test_missing_input_file(tmp_path):
    proc = cli_run("encode", str(tmp_path / "none.json"), "-o", str(tmp_path / "x.img"))
    assert proc.returncode == 2 and proc.stderr.decode().count("\n") == 1
    assert f"{tmp_path / 'none.json'}: No such file or directory" in proc.stderr.decode()
    assert os.listdir(tmp_path) == []


# --- input and output ------------------------------------------------------------------------


def test_stdin_to_stdout_pipeline(tmp_path):
    """decode IMG | encode | cmp, as a pipeline: - (or no FILE) reads stdin, no -o writes stdout."""
    for name in ("inventory.img", "pstree.img", "stats-dump"):
        image = corpus_dir("plain") / name
        text = cli_run("decode", str(image)).stdout
        for args in (["encode"], ["encode", "-"], ["encode", "-", "-o", "-"]):
            proc = cli_run(*args, input=text)
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout == image.read_bytes(), (name, args)


def test_stdin_error_names_stdin(tmp_path):
    proc = cli_run("encode", "-o", str(tmp_path / "x.img"), input=b'{"magic": "CORE"')
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("criu-inspect: error: <stdin>: not valid JSON")
    assert os.listdir(tmp_path) == []


def test_existing_output_is_kept_without_force(tmp_path):
    image = corpus_dir("plain") / "fs-14055.img"
    src = tmp_path / "fs.json"
    src.write_bytes(cli_run("decode", str(image)).stdout)
    out = tmp_path / "fs.img"
    out.write_bytes(b"precious")
    out.chmod(0o600)
    proc = cli_run("encode", str(src), "-o", str(out))
    assert proc.returncode == 2
    refusal = f"criu-inspect: error: {out}: already exists: give --force to replace it, or another -o\n"
    assert proc.stderr.decode() == refusal
    assert out.read_bytes() == b"precious"
    proc = cli_run("encode", str(src), "-o", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == image.read_bytes()
    assert out.stat().st_mode & 0o777 == 0o600  # a replaced image keeps its permissions
    assert sorted(os.listdir(tmp_path)) == ["fs.img", "fs.json"]  # no temporary file left


def test_new_output_gets_criu_mode(tmp_path):
    src = tmp_path / "fs.json"
    src.write_bytes(cli_run("decode", str(corpus_dir("plain") / "fs-14055.img")).stdout)
    old = os.umask(0o022)
    try:
        proc = cli_run("encode", str(src), "-o", str(tmp_path / "fs.img"))
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "fs.img").stat().st_mode & 0o777 == 0o644  # CR_FD_PERM less the umask


def test_error_keeps_an_existing_output(tmp_path):
    """--force with bad JSON: the old image stays whole (the new one is built in memory, renamed in at the end)."""
    out = tmp_path / "core.img"
    out.write_bytes(b"old image")
    src = tmp_path / "bad.json"
    src.write_text('{"magic": "CORE", "entries": [{"mtype": "X86_64", "nope": 1}]}')
    proc = cli_run("encode", str(src), "-o", str(out), "--force")
    assert proc.returncode == 2 and "entries[0].nope: no such field in core_entry" in proc.stderr.decode()
    assert out.read_bytes() == b"old image"
    assert sorted(os.listdir(tmp_path)) == ["bad.json", "core.img"]


def test_binary_is_not_written_to_a_terminal(tmp_path):
    import pty

    src = tmp_path / "fs.json"
    src.write_bytes(cli_run("decode", str(corpus_dir("plain") / "fs-14055.img")).stdout)
    leader, follower = pty.openpty()
    try:
        proc = cli_run("encode", str(src), stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 2
    refusal = "criu-inspect: error: encode: an image is binary: give -o FILE.img (or redirect stdout)\n"
    assert proc.stderr.decode() == refusal


def test_library_errors_are_inspect_errors():
    with pytest.raises(InspectError) as info:
        fromjson.encode_json(b'{"magic": "FS", "entries": [{"cwd_id": -1, "root_id": 2}]}', "x.json")
    assert info.value.one_line() == "x.json: entries[0].cwd_id: -1 is out of range for this field (0..4294967295)"


def test_crit_spelling_of_the_input(tmp_path):
    """crit encode -i FILE -o OUT works the same here."""
    image = corpus_dir("tcp") / "inventory.img"
    src = tmp_path / "inv.json"
    src.write_bytes(cli_run("decode", "--pretty", str(image)).stdout)
    proc = cli_run("encode", "-i", str(src), "-o", str(tmp_path / "inventory.img"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "inventory.img").read_bytes() == image.read_bytes()


@pytest.mark.parametrize("what", ["fifo", "dev-zero", "directory"])
def test_input_that_is_not_a_regular_file(tmp_path, what):
    """A FIFO would block, /dev/zero never ends: refused at once, as decode refuses them (pipe JSON in with -)."""
    src = tmp_path / "in.json"
    if what == "fifo":
        os.mkfifo(src)
    elif what == "dev-zero":
        src.symlink_to("/dev/zero")
    else:
        src.mkdir()
    proc = cli_run("encode", str(src), "-o", str(tmp_path / "out.img"))
    assert proc.returncode == 2 and f"{src}: not a regular file" in proc.stderr.decode()
    assert not (tmp_path / "out.img").exists()


def test_deep_nesting_is_one_line(tmp_path):
    _refused(tmp_path, "[" * 100000 + "]" * 100000, "nested too deeply")


def test_shm_contents_in_pagemaps_write_no_payload():
    """CRIU 4.2 dumps a SysV segment's pages to pagemap/pages images and marks the entry in_pagemaps, with nothing
    after it (criu/ipc_ns.c dump_ipc_shm_seg: in_pagemaps = true; prepare_ipc_shm_pages reads no payload then)."""
    desc = {"key": 1, "uid": 0, "gid": 0, "cuid": 0, "cgid": 0, "mode": 384, "id": 7}
    doc = {"magic": "IPCNS_SHM", "entries": [{"desc": desc, "size": 4096, "in_pagemaps": True}]}
    data = fromjson.dict_to_image(doc)
    header = fromjson.header_for(schema.KINDS["IPCNS_SHM"])
    (size,) = struct.unpack_from("<I", data, len(header))
    assert len(data) == len(header) + 4 + size  # no segment contents after the entry
    entry = schema.message_class("ipc_shm_pb2", "ipc_shm_entry").FromString(data[len(header) + 4 :])
    assert (entry.size, entry.in_pagemaps, entry.desc.id) == (4096, True, 7)
    doc["entries"][0]["extra"] = "AAAA"
    with pytest.raises(fromjson._Bad, match=r"entries\[0\].extra: in_pagemaps is true"):
        fromjson.dict_to_image(doc)


def test_semaphore_count_must_match_nsems(tmp_path):
    work = tmp_path / "built"
    work.mkdir()
    sem = next(p for p in build_images(work) if p.name.startswith("ipcns-sem"))
    doc = json.loads(image_json(open_image(sem)))
    assert doc["entries"][0]["extra"] == [1, 2, 65535]
    doc["entries"][0]["extra"].append(4)
    _refused(tmp_path, json.dumps(doc), "entries[0].extra: 4 semaphore values, but the entry's nsems says 3")


# --- next to crit (Debian's crit 3.17, skipped where it is not installed) --------------------------------


def test_crit_json_and_ours_make_the_same_image(tmp_path):
    """A kind crit 3.17 knows whole (mm): crit's JSON encodes here, and ours with crit, byte for byte."""
    from ..crit_ref import crit_run

    image = corpus_dir("jvm") / "mm-24426.img"  # the largest image of the corpus
    crit_json = tmp_path / "crit.json"
    crit_json.write_text(crit_run("decode", "-i", str(image), "--pretty").stdout)
    proc = cli_run("encode", str(crit_json), "-o", str(tmp_path / "ours.img"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ours.img").read_bytes() == image.read_bytes()
    our_json = tmp_path / "ours.json"
    our_json.write_bytes(cli_run("decode", "--pretty", str(image)).stdout)
    proc = crit_run("encode", "-i", str(our_json), "-o", str(tmp_path / "crit.img"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "crit.img").read_bytes() == image.read_bytes()


def test_crit_json_of_a_criu_42_pagemap_is_refused(tmp_path):
    """crit 3.17 shows field 2 as nr_pages (0 in CRIU 4.2 images) and drops field 5: its JSON has no page counts."""
    from ..crit_ref import crit_run

    image = corpus_dir("plain") / "pagemap-14055.img"
    text = crit_run("decode", "-i", str(image)).stdout
    assert json.loads(text)["entries"][1]["nr_pages"] == 0
    err = _refused(tmp_path, text, "entries[1]: pagemap_entry lacks required field(s) compat_nr_pages (JSON from crit")
    assert "page counts are not in that JSON" in err


# --- mutated JSON: an image or one InspectError, never anything else -----------------------------------


_ODD_VALUES = [None, "x", "", -1, 1 << 70, 1.5, [], {}, True, "0x", "1:2:3", "A | B", ["1.2.3.4"], [None], [{}]]


def _leaves(node, path=()):
    """Every (container, key) of a JSON tree, the root's keys included."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield node, key
        yield from _leaves(value, (*path, key))


@pytest.mark.parametrize("name", ["core-14055.img", "files.img", "mm-14055.img", "pagemap-14055.img", "inventory.img"])
def test_mutated_json_is_an_image_or_one_error(name):
    import copy
    import random

    rng = random.Random(f"encode-{name}")  # seeded: a failure is reproducible
    for pretty in (False, True):
        original = json.loads(image_json(open_image(corpus_dir("plain") / name), pretty))
        for _ in range(150):
            doc = copy.deepcopy(original)
            spots = list(_leaves(doc))
            container, key = rng.choice(spots)
            action = rng.random()
            if action < 0.7:
                container[key] = rng.choice(_ODD_VALUES)
            elif action < 0.85 and isinstance(container, dict):
                del container[key]
            elif isinstance(container, dict):
                container[f"{key}_x"] = 1
            try:
                data = fromjson.encode_json(json.dumps(doc), "x.json")
            except InspectError as exc:
                line = exc.one_line()
                assert line.startswith("x.json: ") and "\n" not in line
            else:
                assert isinstance(data, bytes) and len(data) >= 4


def test_control_characters_from_the_input_never_reach_the_terminal(tmp_path):
    """An unknown key holding ESC [2J (clear screen) is named escaped in the one error line."""
    err = _refused(tmp_path, '{"magic": "FS", "entries": [{"a\\u001b[2J": 1}]}', "a\\x1b[2J")
    assert "\x1b" not in err
