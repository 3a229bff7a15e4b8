"""Finds the line of the user's own code that a phase happened at.

A hook runs deep inside torch; the line worth showing is the first frame, walking
outwards, that belongs to the user: not torch, not loopstep, not the standard library
or an installed package.
"""

from __future__ import annotations

import os
import sys
import sysconfig

import torch

from ....engine.phases import SourceLocation

_LOOPSTEP_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {
        os.path.dirname(os.path.abspath(torch.__file__)),
        _LOOPSTEP_DIR,
        paths.get("stdlib", ""),
        paths.get("platstdlib", ""),
        paths.get("purelib", ""),
        paths.get("platlib", ""),
    }
    return tuple(os.path.join(d, "") for d in dirs if d)


_LIBRARY_DIRS = _library_dirs()


_USER_FILES: dict[str, bool] = {}


def is_user_file(filename: str) -> bool:
    known = _USER_FILES.get(filename)
    if known is None:
        known = bool(filename) and not filename.startswith("<")
        known = known and not os.path.abspath(filename).startswith(_LIBRARY_DIRS)
        _USER_FILES[filename] = known
    return known


def user_location(skip: int = 1) -> SourceLocation | None:
    """The innermost frame of the user's code on the calling thread's stack."""
    frame = sys._getframe(skip)
    known = _USER_FILES  # inlined lookups: this runs for every phase, continue mode too
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        mine = known.get(filename)
        if mine is None:
            mine = is_user_file(filename)
        if mine:
            return SourceLocation(filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None


_TORCH_DIR = os.path.join(os.path.dirname(os.path.abspath(torch.__file__)), "")
_STDLIB_DIRS = tuple(
    os.path.join(p, "") for p in {sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib")} if p
)
_FRAMEWORK_FILES: dict[str, bool] = {}


def _framework_file(filename: str) -> bool:
    """An installed package's file that is neither torch's nor loopstep's: a framework's."""
    known = _FRAMEWORK_FILES.get(filename)
    if known is None:
        path = os.path.abspath(filename)
        known = (
            not is_user_file(filename)
            and not filename.startswith("<")
            and not path.startswith((_TORCH_DIR, os.path.join(_LOOPSTEP_DIR, "")))
            and not (path.startswith(_STDLIB_DIRS) and "site-packages" not in path)
        )
        _FRAMEWORK_FILES[filename] = known
    return known


def framework_location(skip: int, user: SourceLocation | None) -> SourceLocation | None:
    """Where a framework (Lightning, transformers, accelerate) made the call of a phase, when
    the user's own line is only the way into it (``trainer.fit(...)``); None when the user's
    code made the call itself."""
    frame = sys._getframe(skip)
    while frame is not None:
        code = frame.f_code
        if is_user_file(code.co_filename):
            return None  # the user's code called it directly
        if _framework_file(code.co_filename):
            return SourceLocation(code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None


def user_traceback(tb):
    """The traceback from the first frame of the user's code on (drops runpy and loopstep)."""
    start = tb
    while start is not None and not is_user_file(start.tb_frame.f_code.co_filename):
        start = start.tb_next
    return start if start is not None else tb
