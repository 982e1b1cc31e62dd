"""The CPU features the tasks used, against the CPU they will be restored on."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import make
from ..host import current_host


def lacking(mask: int, flags: frozenset[str]) -> int:
    """The state components of ``mask`` the CPU with ``flags`` cannot hold."""
    out = 0
    for bit, flag in names.XFEATURE_FLAGS.items():
        if mask >> bit & 1 and flag not in flags:
            out |= 1 << bit
    return out


def check(cp, target):
    state = cp.cpu_state
    if state is None:
        return
    flags, where = target.cpu_flags, "the --target-cpu CPU"
    if flags is None and target.on_this_host:
        flags, where = current_host().cpu_flags, "this host's CPU"
    if flags is None:
        return  # no CPU to compare with: `show` says what the tasks used
    details = {
        "xstate_bv": f"{state.xstate_bv:#x}",
        "features": names.xfeature_names(state.xstate_bv),
        "xsave_threads": state.xsave_threads,
    }
    if state.xsave_threads and "xsave" not in flags:
        yield make(
            RULE,
            f"{state.xsave_threads} thread(s) were saved with an XSAVE area and {where} has no xsave: criu "
            "refuses to restore them",
            criu_error="FPU xsave area present, but host cpu doesn't support it",
            details=details,
        )
    if state.cpuinfo_xfeatures is not None and (missing := lacking(state.cpuinfo_xfeatures, flags)):
        yield make(
            RULE,
            f"cpuinfo.img (dumped with --cpu-cap, on {state.cpuinfo_model or 'the dumping CPU'}) records xsave "
            f"features {', '.join(names.xfeature_names(missing))} that {where} lacks: a restore with --cpu-cap refuses",
            criu_error=f"CPU xfeatures has unsupported bits ({missing:#x})",
            image="cpuinfo.img",
            fix="restore on a CPU with those features, or without --cpu-cap (then see the warning for the threads)",
            details={**details, "cpuinfo_xfeatures": f"{state.cpuinfo_xfeatures:#x}", "missing": f"{missing:#x}"},
        )
    if missing := lacking(state.xstate_bv, flags):
        yield make(
            RULE,
            f"the threads were using {', '.join(names.xfeature_names(missing))} state, which {where} lacks: criu "
            "restores without it (silently), and code that chose those instructions at startup, as glibc's "
            "string functions pick AVX-512 or AVX2 versions once, dies of SIGILL on its next call",
            severity="warning",
            criu_error="",
            fix="restore on a CPU with the same features (or newer), or start the program on the target CPU "
            "before checkpointing it (OpenJ9 and similar runtimes can be told to use portable code)",
            details={**details, "missing": names.xfeature_names(missing)},
        )


RULE = Rule(
    code="CRI031",
    title="CPU features the tasks used that the restoring CPU lacks",
    category="cpu",
    severity="error",
    rationale=(
        "core-TID.img keeps every thread's FPU state with the XSAVE components in use (xstate_bv: AVX, "
        "AVX-512, PKRU ...). criu restores on a CPU without XSAVE only if the images have no XSAVE area "
        '("FPU xsave area present, but host cpu doesn\'t support it"); with --cpu-cap it also validates '
        'cpuinfo.img ("CPU xfeatures has unsupported bits"); otherwise it drops the components the CPU '
        "lacks without a word, and programs that picked instructions at startup (glibc's ifuncs) fault "
        "later. Checkpoints built on a CI runner and restored on production hosts meet this first."
    ),
    fix="restore on a CPU with the same features, or give --target-cpu the target's /proc/cpuinfo to know",
    criu_error="FPU xsave area present, but host cpu doesn't support it",
    check=check,
)
