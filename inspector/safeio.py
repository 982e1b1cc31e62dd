"""Opening input files so that hostile ones cannot hang or stream forever.

A FIFO where an image should be blocks a plain ``open()`` until a writer
comes (never); a symlink to ``/dev/zero`` reads forever; a directory raises
IsADirectoryError deep inside a reader. Every input file is opened here:
non-blocking, then ``fstat``-ed, and anything but a regular file is one
InspectError naming the file.
"""

from __future__ import annotations

import os
import stat

from .errors import InspectError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def open_regular(path: str) -> int:
    """A read-only fd of ``path``, which must be a regular file (symlinks to one are fine)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InspectError(path, os_reason(exc)) from None
    except ValueError:  # a NUL byte in a path read from an image
        raise InspectError(path.replace("\0", "\\0"), "a path with a NUL byte cannot name a file") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise InspectError(path, os_reason(exc)) from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InspectError(path, f"not a regular file: {file_kind(mode)}")
    return fd


def open_regular_file(path: str):
    """``open(path, "rb")`` for input files: a binary file object over ``open_regular``."""
    return os.fdopen(open_regular(path), "rb")


def regular_size(path: str) -> int:
    """The size of a regular input file (a directory, FIFO or device is an InspectError)."""
    fd = open_regular(path)
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


_RENAME_NOREPLACE = 1  # linux/fs.h


def rename_noreplace(src: str, dst: str) -> None:
    """Rename ``src`` to ``dst`` atomically, failing with FileExistsError if ``dst`` exists by then.

    ``os.rename`` of a directory silently replaces an empty directory at ``dst``; checking first and
    renaming after leaves a window in which another process creates ``dst``. renameat2's
    RENAME_NOREPLACE closes it; where the kernel or filesystem lacks it, ``mkdir(dst)`` (for a file,
    an empty file made with O_EXCL) claims the name first and the rename then replaces only that claim
    (or fails, never deleting).
    """
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd = -100
        if renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(err, os.strerror(err), dst)
    if not os.path.isdir(src):  # a file: claim the name with an empty file of our own, then rename over it
        os.close(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # FileExistsError if it is there
        try:
            os.rename(src, dst)
        except OSError:
            _unlink_quietly(dst)  # our empty claim, nobody else's file
            raise
        return
    os.mkdir(dst, 0o700)  # FileExistsError if it is there: ours from here on
    try:
        os.rename(src, dst)
    except OSError:
        try:
            os.rmdir(dst)  # only if still empty: another process's files are never removed
        except OSError:
            pass
        raise


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def stale_dirs(parent: str, prefix: str) -> list[str]:
    """Our own temporary directories in ``parent`` named ``PREFIX<pid>-...`` whose process is gone.

    What a SIGKILL (or a power cut) leaves behind; only directories of this user, with a pid that no
    process has now, are returned, so a concurrent run's work is never touched.
    """
    found: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return found
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not pid_running(int(pid_text)):
            found.append(entry.path)
    return found


def check_output(path: str, replace: bool = True) -> None:
    """Refuse an output path before any work: not a regular file, already there without ``replace``, no folder."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InspectError(path, os_reason(exc)) from None
    if mode is not None and not stat.S_ISREG(mode):  # the rename would replace /dev/null, a FIFO, ...
        raise InspectError(path, f"not a regular file: {file_kind(mode)}; the output is written as a regular file")
    if mode is not None and not replace:
        raise InspectError(path, "already exists: give --force to replace it, or another -o")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise InspectError(path, "its folder does not exist")


def write_atomic(
    path: str, write, text: bool = False, *, replace: bool = True, mode: int = 0o666, private: bool = False
) -> None:
    """Write ``path`` through a temporary file beside it, put in place at the end: whoever reads it sees
    the old file or the new one, never half of one, and an error or a signal leaves the old one.

    ``write(fh)`` gets a (seekable) file object. Without ``replace`` an existing ``path`` is refused, even
    one that appears while writing (a hard link or renameat2 NOREPLACE puts the file in place). A new file
    gets ``mode`` less the umask; a replaced one keeps its own mode, and is synced first so a crash cannot
    leave it empty. ``private`` (memory contents, which hold secrets): readable by the owner only, as the
    kernel's core files, whatever the mode of a file it replaces.
    """
    import tempfile

    check_output(path, replace)
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=f".criu-inspect-{os.getpid()}-")
    except OSError as exc:
        raise InspectError(path, os_reason(exc)) from None
    try:
        with os.fdopen(fd, "w" if text else "wb") as fh:
            write(fh)
            fh.flush()
            old_mode = _mode_of(path) if replace else None
            final = old_mode if old_mode is not None else mode & ~_umask()
            os.fchmod(fh.fileno(), final & ~0o077 if private else final)
            if old_mode is not None:
                os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    except FileExistsError:
        raise InspectError(path, "already exists (it appeared while writing): give --force to replace it") from None
    except OSError as exc:
        raise InspectError(path, os_reason(exc)) from None
    finally:
        _unlink_quietly(tmp)  # after a link, or after a failure; after a rename there is nothing left


def _mode_of(path: str) -> int | None:
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return None


def _link_new(tmp: str, path: str) -> None:
    """Give ``tmp`` the name ``path`` only if no file has it: a hard link, or renameat2 NOREPLACE where links fail."""
    import errno

    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
        rename_noreplace(tmp, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
