"""The engine's files beside a container checkpoint's images (config.dump, spec.dump, network.status, ...).

A Podman or CRI-O checkpoint keeps them in the container's directory, the
parent of ``checkpoint/`` (libpod/container_internal_common.go, exportCheckpoint's
``includeFiles``); an export archive holds the same tree, extracted by
``inspector.source`` with these files. A bare image directory has none.
"""

from __future__ import annotations

import json
import os

from ..errors import InspectError
from ..safeio import open_regular_file

CONTAINER_KINDS = ("podman", "crio", "containerd", "container")
MAX_JSON_BYTES = 8 << 20  # as source.MAX_METADATA_BYTES: these files are a few KiB
UNREADABLE = object()  # load_json's answer for a file that is there but cannot be read as JSON


def container_dir(cp) -> str | None:
    """The directory holding the engine's files, or None when the checkpoint is not a container's."""
    src = cp.source
    if src is None or src.kind not in CONTAINER_KINDS:
        return None
    return os.path.dirname(os.path.normpath(src.images_dir))


def shown(cp, path: str) -> str:
    """A path as the user knows it (``ARCHIVE!/network.status`` inside an archive)."""
    return cp.source.shown(path) if cp.source is not None else path


def engine_file(cp, name: str) -> str | None:
    """The path of one of the engine's files when the container directory has it."""
    d = container_dir(cp)
    if d is None:
        return None
    path = os.path.join(d, name)
    return path if os.path.lexists(path) else None


def load_json(cp, name: str):
    """The JSON value of the engine's file ``name``: None when absent, UNREADABLE when it cannot be read (the
    reason is then a problem of cp). A file holding ``null`` is None too: nothing recorded."""
    path = engine_file(cp, name)
    if path is None:
        return None
    return cp._soft(_read_json, path, shown(cp, path), default=UNREADABLE)


def _read_json(path: str, shown_as: str):
    try:
        with open_regular_file(path) as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise InspectError(shown_as, exc.strerror or str(exc)) from None
    if len(data) > MAX_JSON_BYTES:
        raise InspectError(shown_as, f"larger than {MAX_JSON_BYTES >> 20} MiB: not read as container metadata")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InspectError(shown_as, f"not JSON: {exc}") from None
    except RecursionError:  # [[[[... a few hundred thousand deep
        raise InspectError(shown_as, "not JSON that can be read: nested too deeply") from None
