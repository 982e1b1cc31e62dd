"""Find the installed pycriu and load its pieces one at a time.

pycriu's package ``__init__`` imports every schema module at once (about 70 of
them); we only need the few an image set uses, so we never execute it: we find
the package directory, load ``magic.py`` on its own, and read the serialized
descriptors out of the generated ``*_pb2`` modules in its ``images/`` folder on
demand (importing them only as a fallback: they import each other by top-level
name, which is why pycriu itself puts that folder on ``sys.path``).
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.abc
import importlib.util
import os
import re
import sys
from types import ModuleType

from ..errors import PycriuMissing

_FALLBACK_DIRS = ("/usr/lib/python3/dist-packages/pycriu",)


@functools.cache
def pycriu_dir() -> str:
    override = os.environ.get("CRIU_INSPECT_PYCRIU")
    candidates = [override] if override else []
    try:
        spec = importlib.util.find_spec("pycriu")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates.extend(spec.submodule_search_locations)
    if not override:
        candidates.extend(_FALLBACK_DIRS)
    for cand in candidates:
        if cand and os.path.isfile(os.path.join(cand, "images", "magic.py")):
            return os.path.realpath(cand)
    raise PycriuMissing("looked in: " + ", ".join(c for c in candidates if c))


def images_dir() -> str:
    return os.path.join(pycriu_dir(), "images")


def _file_module(name: str, path: str) -> tuple[ModuleType, importlib.abc.Loader]:
    """A module for the source file ``path`` under a private ``name``, not yet run, and its loader."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a .py path always gets a source file loader
    return importlib.util.module_from_spec(spec), spec.loader


@functools.cache
def magic_module() -> ModuleType:
    path = os.path.join(images_dir(), "magic.py")
    module, loader = _file_module("_criu_inspect_pycriu_magic", path)
    loader.exec_module(module)
    return module


@functools.cache
def pb2dict_module() -> ModuleType:
    """pycriu's ``pb2dict`` (its flag and dict maps), loaded under a private name.

    Only its tables and ``map_flags`` work with protobuf 7 (its converter
    reads ``FieldDescriptor.label``, which is gone); ``decode`` uses the
    tables so that its names are exactly the installed crit's.
    """
    folder = images_dir()
    if folder not in sys.path:
        sys.path.append(folder)  # it imports opts_pb2 by top-level name
    path = os.path.join(folder, "pb2dict.py")
    module, loader = _file_module("_criu_inspect_pycriu_pb2dict", path)
    try:
        loader.exec_module(module)
    except (ImportError, OSError) as exc:  # pragma: no cover - depends on the installed pycriu
        raise PycriuMissing(f"pb2dict: {exc}") from exc
    return module


# protoc's generated modules hold their file descriptor as one bytes literal
_SERIALIZED = re.compile(rb"""AddSerializedFile\((b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")\)""")


def serialized_file(name: str) -> bytes:
    """The serialized FileDescriptorProto of pycriu's module ``name``, without running it.

    Executing a generated module builds its classes in protobuf's default pool,
    which we never use (we build our own, patched); reading the literal from
    the source is three times cheaper. Modules of an older protoc layout are
    imported instead.
    """
    path = os.path.join(images_dir(), name + ".py")
    try:
        with open(path, "rb") as fh:
            match = _SERIALIZED.search(fh.read())
        if match is not None:
            value = ast.literal_eval(match.group(1).decode("latin-1"))
            if isinstance(value, bytes):
                return value
    except (OSError, ValueError, SyntaxError):
        pass
    return pb2_module(name).DESCRIPTOR.serialized_pb


def pb2_module(name: str) -> ModuleType:
    """Import pycriu's generated module ``name`` (e.g. ``pagemap_pb2``)."""
    folder = images_dir()
    if folder not in sys.path:
        sys.path.append(folder)
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the installed pycriu
        raise PycriuMissing(f"{name}: {exc}") from exc
