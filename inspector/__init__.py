"""criu-inspect: decode, check, diff and repair CRIU checkpoints."""

__version__ = "0.1.0"
