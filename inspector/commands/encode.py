"""criu-inspect encode FILE.json|- -o FILE.img [--force]: decode's JSON back into an image (the inverse of decode).

Takes what ``decode`` prints, plain or ``--pretty`` (crit's JSON too), checks
every field against the image's schema and writes the image. Reads stdin when
FILE is ``-`` or missing. Binary never goes to a terminal: give ``-o`` (or
redirect stdout). ``-o OUT`` is written atomically and an existing OUT is
kept unless ``--force`` (a checkpoint image may be the only copy).
"""

from __future__ import annotations

import argparse
import sys

# decode's JSON of a 100,000-run pagemap is 7 MB; parsed JSON takes some 26 times its size in memory,
# so a bound of 64 MiB keeps a hostile input under 2 GiB
MAX_INPUT = 64 << 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="JSON from criu-inspect decode (plain or --pretty); - or none: stdin")
    p.add_argument("-i", "--in", dest="in_file", metavar="FILE", help="same as FILE (crit's spelling)")
    p.add_argument(
        "-o", "--out", metavar="OUT", help="write the image to OUT (atomically); - or none: stdout (not a terminal)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing OUT (atomically; it keeps its mode)")


def run(args) -> int:
    from ..codec.fromjson import encode_json
    from ..errors import InspectError

    if args.file and args.in_file:
        raise InspectError(None, "encode: give the JSON file once (FILE or -i FILE)")
    path = args.file or args.in_file or "-"
    out = args.out if args.out not in (None, "-") else None
    if out is None and sys.stdout.isatty():
        raise InspectError(None, "encode: an image is binary: give -o FILE.img (or redirect stdout)")
    if out is not None:
        from ..safeio import check_output

        check_output(out, replace=args.force)
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise InspectError(None, "encode: give a JSON file (criu-inspect encode FILE.json) or pipe one in")
        data = encode_json(_read_limited(sys.stdin.buffer, "<stdin>"), "<stdin>")
    else:
        from ..safeio import open_regular_file

        with open_regular_file(path) as fh:
            text = _read_limited(fh, path)
        data = encode_json(text, path)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_image_file(out, data, replace=args.force)
    return 0


def _read_limited(fh, name: str) -> bytes:
    from ..errors import InspectError

    try:
        text = fh.read(MAX_INPUT + 1)
    except OSError as exc:
        raise InspectError(name, exc.strerror or str(exc)) from None
    if len(text) > MAX_INPUT:
        raise InspectError(name, f"larger than {MAX_INPUT >> 20} MiB: not the JSON of one image")
    return text


def write_image_file(out: str, data: bytes, replace: bool) -> None:
    """Atomically, never over an existing image without --force. A new image gets CRIU's mode (0644 less
    the umask: CR_FD_PERM, criu/include/crtools.h:11, used by criu/image.c:627); a replaced one keeps its own."""
    from ..safeio import write_atomic

    write_atomic(out, lambda fh: fh.write(data), replace=replace, mode=0o644)
