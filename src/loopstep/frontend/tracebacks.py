"""The part of a traceback that is the user's: from the first frame of their code on.

A training error is raised from deep inside loopstep's call of the user's code (the
stepper, a script runner, runpy); those frames are noise to the user. Frames are kept from
the first one outside loopstep's package and the standard library.
"""

from __future__ import annotations

import os
import sysconfig
import traceback

_LOOPSTEP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
_STDLIB = tuple(
    os.path.join(p, "") for p in {sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib")} if p
)


def _is_noise(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path.startswith(_LOOPSTEP) or path.startswith(_STDLIB)


def user_part(exc: BaseException) -> str:
    """``exc`` formatted from the first frame of the user's code (all of it if there is none)."""
    tb = exc.__traceback__
    start = tb
    while start is not None and _is_noise(start.tb_frame.f_code.co_filename):
        start = start.tb_next
    return "".join(traceback.format_exception(type(exc), exc, start if start is not None else tb))
