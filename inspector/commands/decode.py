"""criu-inspect decode FILE [--pretty] [-o OUT]: one image as crit-compatible JSON.

Same output as ``crit decode -i FILE [--pretty] [-o OUT]`` (crit 3.17), plus
the fields newer CRIU writes, under their CRIU 4.2 names.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="an image file (e.g. core-42.img, stats-dump)")
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

    path = args.file or args.in_file
    if not path:
        raise InspectError(None, "decode: give an image file (criu-inspect decode FILE)")
    if args.file and args.in_file:
        raise InspectError(None, "decode: give the image file once (FILE or -i FILE)")
    text = image_json(open_image(path), args.pretty)
    if args.out:
        _write_atomically(args.out, text)  # like crit -o: no final newline
    else:
        sys.stdout.write(text)
        sys.stdout.write("\n")
    return 0


def _write_atomically(out: str, text: str) -> None:
    from ..errors import InspectError

    folder = os.path.dirname(os.path.abspath(out))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".criu-inspect-", dir=folder)
    except OSError as exc:
        raise InspectError(out, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise InspectError(out, exc.strerror or str(exc)) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
