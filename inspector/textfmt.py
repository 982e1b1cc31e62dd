"""Small text formats shared by the library and every presenter (no imports)."""

from __future__ import annotations


def human_bytes(n: int) -> str:
    """1536 -> '1.5 KiB', 81920 -> '80 KiB'."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"  # pragma: no cover


def printable(data: bytes) -> str:
    """The ASCII column of a hexdump: printable bytes as they are, the rest as '.'."""
    return "".join(chr(b) if 32 <= b < 127 else "." for b in data)


def counted(n: int, what: str) -> str:
    """'1 process', '4 processes', '12 fds'."""
    plural = what + ("es" if what.endswith("s") else "s")
    return f"{n} {what if n == 1 else plural}"
