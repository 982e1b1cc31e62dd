"""numpy only where it pays for its import (some 80 ms): for big pagemaps, or once something else loaded it.

The wire decoder and the pagemap's sums and checks ask here, through the
module (``numpy_gate.numpy_for(n)``), so one switch turns numpy off for both.
"""

from __future__ import annotations

import sys
from types import ModuleType

# Entries of a pagemap from which decoding it is worth importing numpy.
NUMPY_MIN_ENTRIES = 50_000
# Runs from which sums and checks use numpy, if it is loaded already.
NUMPY_MIN_RUNS = 4096


def numpy_loaded(n: int) -> ModuleType | None:
    """numpy, for sums and checks over ``n`` runs, if it is loaded already and ``n`` is worth it."""
    return sys.modules.get("numpy") if n >= max(NUMPY_MIN_RUNS, 1) else None


def numpy_for(entries: int) -> ModuleType | None:
    """numpy for work over ``entries`` entries: imported if they are many, used if loaded; None without it."""
    if entries < NUMPY_MIN_ENTRIES and "numpy" not in sys.modules:
        return None
    try:
        import numpy
    except ImportError:
        return None
    return numpy
