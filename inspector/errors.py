"""The one error type the library raises for bad input.

The CLI turns it into ``criu-inspect: error: FILE: what (offset N)`` and exit 2.
"""

from __future__ import annotations

import os

# temporary directories (an extracted archive) -> how the user names them ("chk.tar.zst!/")
_PATH_ALIASES: dict[str, str] = {}


def register_path_alias(prefix: str, shown: str) -> None:
    """Errors under ``prefix`` name the file as ``shown`` + the rest (used by inspector.source)."""
    _PATH_ALIASES[prefix] = shown


def unregister_path_alias(prefix: str) -> None:
    _PATH_ALIASES.pop(prefix, None)


def shown_path(path: str | None) -> str | None:
    if path:
        for prefix, shown in _PATH_ALIASES.items():
            if path.startswith(prefix):
                return shown + path[len(prefix) :]
    return path


def one_error_line(problems: list[str], total: int | None = None) -> str:
    """Several problems as the one stderr line the CLI promises: the first cause, and how many more."""
    line = problems[0]
    more = (len(problems) if total is None else total) - 1
    if more > 0:
        line += f" (and {more} more problem{'s' if more > 1 else ''}: the report lists {'them' if more > 1 else 'it'})"
    return line


class InspectError(Exception):
    """Bad or unreadable input: carries the file, the offset and the reason."""

    def __init__(self, path: str | os.PathLike | None, reason: str, offset: int | None = None):
        self.path = os.fspath(path) if path is not None else None
        self.reason = reason
        self.offset = offset
        super().__init__(self.one_line())

    def one_line(self) -> str:
        # one line whatever the reason says (protobuf errors can span lines)
        reason = _printable(" ".join(str(self.reason).split()))
        path = _printable(shown_path(self.path) or "")
        text = f"{path}: {reason}" if path else reason
        if self.offset is not None:
            text += f" (offset {self.offset})"
        return text


def _printable(text: str) -> str:
    """Control characters from an input (a JSON key, a file name in an image) are shown escaped, never sent to
    the terminal (an ESC sequence could clear it or retitle it)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class PycriuMissing(InspectError):
    """pycriu (CRIU's own Python package, with the image schemas) is not importable."""

    def __init__(self, detail: str = ""):
        msg = (
            "pycriu is not installed: it ships with CRIU's Debian/Ubuntu package "
            "(apt-get install criu); run scripts/setup to link it into the virtualenv"
        )
        if detail:
            msg += f" ({detail})"
        super().__init__(None, msg)
