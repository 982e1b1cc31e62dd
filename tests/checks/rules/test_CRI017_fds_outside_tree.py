"""CRI017 (fds_outside_tree): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import UNPRIV, edit, found, retype_file5, unpriv
from tests.conftest import corpus_dir


def test_cri017_pipe_end_outside_tree(writable_copy):
    """plain-devnull copy: fd 1/2 (file id 5) turned into the write end of pipe 4242 by decoding files.img and
    fdinfo-2.img, changing the entry type and payload, and encoding them again."""
    d = writable_copy("plain-devnull")

    def to_pipe(fe, fown):
        fe.pipe.id, fe.pipe.pipe_id, fe.pipe.flags = 5, 4242, 1
        fe.pipe.fown.CopyFrom(fown)

    retype_file5(d, "PIPE", to_pipe)
    edit(d, "fdinfo-2.img", lambda fi: setattr(fi, "type", 2) if fi.id == 5 else False)
    got = found(d, UNPRIV, "CRI017", "warning")
    assert got and got[0].details == {"pipe": "pipe:[4242]", "missing_end": "read"}
    assert not found(d, unpriv(inherit_fds=("fd[1]:pipe:[4242]",)), "CRI017")
    assert not found(corpus_dir("plain-devnull"), UNPRIV, "CRI017")


def test_cri017_external_file_needs_inherit_fd(writable_copy):
    """plain-devnull copy: file id 5 (fds 1, 2) turned into an external file (FileEntry EXT, as criu dump
    --external writes) by decode -> change -> encode of files.img."""
    d = writable_copy("plain-devnull")

    def to_ext(fe, fown):
        fe.ext.id = 5
        fe.ext.fown.CopyFrom(fown)

    retype_file5(d, "EXT", to_ext)
    got = found(d, UNPRIV, "CRI017", "error")
    assert sorted(f.fd for f in got) == [1, 2]
    handed = found(d, unpriv(inherit_fds=("fd[1]:pipe:[1]", "fd[2]:pipe:[1]")), "CRI017")
    assert not handed


def test_cri017_external_tty_handed_in_by_its_key(writable_copy):
    """unpriv-tty copy, tty-info.img decoded, the pty made an external tty (type EXT_TTY, dev 0x1d, as a
    container console dumped with --external tty[rdev:dev] is), encoded again. criu restore wants it handed in
    as --inherit-fd fd[N]:tty[RDEV:DEV] (hex), N being criu's own fd, not the task's."""
    d = writable_copy("unpriv-tty")

    def external(info):
        info.type = info.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_name["EXT_TTY"].number
        info.dev = 0x1D

    edit(d, "tty-info.img", external)
    got = found(d, unpriv(shell_job=True, terminal=True), "CRI017", "error")
    assert got and {f.details["resource"] for f in got} == {"tty[8800:1d]"}
    handed = unpriv(shell_job=True, terminal=True, inherit_fds=("fd[7]:tty[8800:1d]",))
    assert not found(d, handed, "CRI017", "error")
