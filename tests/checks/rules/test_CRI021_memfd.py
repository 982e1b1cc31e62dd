"""CRI021 (memfd): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, found, retype_file5, unpriv
from tests.conftest import corpus_dir


def _file5_to_memfd77(d) -> None:
    """files.img edit: file id 5 (fds 1, 2 of plain-devnull) becomes a memfd of inode 77."""

    def fill(fe, fown):
        fe.memfd.id, fe.memfd.flags, fe.memfd.pos, fe.memfd.inode_id = 5, 2, 0, 77
        fe.memfd.fown.CopyFrom(fown)

    retype_file5(d, "MEMFD", fill)


def test_cri021_memfd(writable_copy):
    """plain-devnull copy: file id 5 (fds 1, 2) turned into a memfd by decode -> change -> encode of files.img;
    no memfd-inode image exists, so its contents are missing from the checkpoint."""
    d = writable_copy("plain-devnull")

    _file5_to_memfd77(d)
    got = found(d, UNPRIV, "CRI021")
    assert got and got[0].severity == "error" and "memfd:77" in got[0].message
    assert not found(corpus_dir("plain-devnull"), UNPRIV, "CRI021")


def _memfd_copy(writable_copy, owner_uid: int):
    """plain-devnull copy: files.img decoded, file id 5 (fds 1, 2) made a memfd of inode 77, encoded again; plus
    the memfd.img CRIU writes for it (image-desc.c: MEMFD_INODE -> "memfd"), framed as CRIU frames it."""
    from tests.codec.test_decode_crit_synth import msg, write_image

    d = writable_copy("plain-devnull", f"memfd-uid{owner_uid}")

    _file5_to_memfd77(d)
    inode = msg(
        "memfd_pb2",
        "memfd_inode_entry",
        name="jit",
        uid=owner_uid,
        gid=owner_uid,
        size=4096,
        shmid=9,
        seals=1,
        inode_id=77,
    )
    write_image(d / "memfd.img", "MEMFD_INODE", [(inode, b"")])
    return d


def test_cri021_memfd_image_and_owner(writable_copy):
    """With memfd.img present the memfd is only reported (info); a memfd of uid 0 cannot be fchown()ed back by
    an unprivileged restorer (memfd.c, memfd_open_inode_nocache: cr_fchown), so it is an error then."""
    own = _memfd_copy(writable_copy, 1001)
    assert {f.severity for f in found(own, UNPRIV, "CRI021")} == {"info"}
    roots = _memfd_copy(writable_copy, 0)
    got = found(roots, UNPRIV, "CRI021", "error")
    assert got and got[0].details["uid"] == 0 and got[0].pid == 14171
    assert got[0].criu_error == "Can't change uid 0 gid 0 of memfd:jit: Operation not permitted"
    assert {f.severity for f in found(roots, ROOT, "CRI021")} == {"info"}
    assert {f.severity for f in found(roots, unpriv(caps=frozenset({"CHOWN"})), "CRI021")} == {"info"}
