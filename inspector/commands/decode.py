"""criu-inspect decode FILE [--pretty] [-o OUT]: one image as crit-compatible JSON.

Same output as ``crit decode -i FILE [--pretty] [-o OUT]`` (crit 3.17), plus
the fields newer CRIU writes, under their CRIU 4.2 names. Like crit, reads the
image from stdin when no file is given (or FILE is ``-``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="an image file (e.g. core-42.img, stats-dump); - or none: stdin")
    p.add_argument("-i", "--in", dest="in_file", metavar="FILE", help="same as FILE (crit's spelling)")
    p.add_argument(
        "--pretty",
        action="store_true",
        help="indent, and show fields in their own format (hex, flags, major:minor, addresses), as crit --pretty",
    )
    p.add_argument("-o", "--out", metavar="OUT", help="write the JSON to OUT (atomically) instead of stdout")


def run(args) -> int:
    from ..codec.image import open_image
    from ..codec.tojson import image_json
    from ..errors import InspectError

    if args.file and args.in_file:
        raise InspectError(None, "decode: give the image file once (FILE or -i FILE)")
    path = args.file or args.in_file or "-"
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise InspectError(None, "decode: give an image file (criu-inspect decode FILE) or pipe one in")
        with tempfile.TemporaryDirectory(prefix="criu-inspect-") as tmp:
            copy = _stdin_to_file(tmp)
            try:
                text = image_json(open_image(copy), args.pretty)
            except InspectError as exc:  # name what the user gave, not our copy
                raise InspectError("<stdin>", exc.reason, exc.offset) from None
    else:
        text = image_json(open_image(path), args.pretty)
    if args.out:
        _write_atomically(args.out, text)  # like crit -o: no final newline
    else:
        sys.stdout.write(text)
        sys.stdout.write("\n")
    return 0


def _stdin_to_file(folder: str) -> str:
    """Copy stdin to a file (images are read by path), refusing raw data after 8 bytes."""
    from ..codec import schema
    from ..codec.image import U32
    from ..errors import InspectError

    source = sys.stdin.buffer
    head = source.read(8)
    if len(head) < 4:
        raise InspectError("<stdin>", f"too short for an image header ({len(head)} bytes)", 0)
    value = U32.unpack_from(head, 0)[0]
    if value in (schema.magic_value("IMG_COMMON"), schema.magic_value("IMG_SERVICE")) and len(head) == 8:
        value = U32.unpack_from(head, 4)[0]
    if schema.kind_by_magic(value) is None:  # e.g. pages piped in: do not copy gigabytes first
        raise InspectError("<stdin>", f"unknown image magic 0x{value:08x} (raw data such as pages has none)", 0)
    path = os.path.join(folder, "stdin.img")
    with open(path, "wb") as out:
        out.write(head)
        shutil.copyfileobj(source, out, 1 << 20)
    return path


def _write_atomically(out: str, text: str) -> None:
    from ..safeio import write_atomic

    write_atomic(out, lambda fh: fh.write(text), text=True)
