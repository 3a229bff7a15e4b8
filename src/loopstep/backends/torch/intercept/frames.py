"""Finds the line of the user's own code that a phase happened at.

A hook runs deep inside torch; the line worth showing is the first frame, walking
outwards, that belongs to the user: not torch, not loopstep, not the standard library
or an installed package.
"""

from __future__ import annotations

import linecache
import os
import re
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


_ASSIGNED: dict[tuple[str, int], str] = {}
_NAME = re.compile(r"[A-Za-z_][\w.]*\Z")


def assigned_name(location: SourceLocation | None) -> str:
    """The variable the user's line assigns to (``errD_real = criterion(out, label)`` →
    ``errD_real``): a loss is named after it. Of several targets (``logits, loss = model(x, y)``)
    the one that says "loss", else the last. "" when the line assigns to no plain name."""
    if location is None:
        return ""
    key = (location.path, location.line)
    known = _ASSIGNED.get(key)
    if known is None:
        known = _ASSIGNED[key] = _target_of(linecache.getline(location.path, location.line))
    return known


def _target_of(line: str) -> str:
    depth = 0
    for index, char in enumerate(line):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char in "#'\"":
            return ""
        elif char == "=" and depth == 0:
            before = line[index - 1] if index else ""
            after = line[index + 1] if index + 1 < len(line) else ""
            if before in "=!<>+-*/%&|^@:" or after == "=":
                return ""  # a comparison, an augmented assignment or an annotation
            names = [part.strip().strip("()[] ") for part in line[:index].split(",")]
            names = [name for name in names if _NAME.match(name)]
            if not names:
                return ""
            lossy = [name for name in names if "loss" in name.lower()]
            return (lossy or names)[-1]
    return ""


def assigned_call(location: SourceLocation | None) -> str:
    """What the user's line calls to get the value it assigns (``pred = model(x)`` →
    ``model``; ``loss = criterion(model(x), y)`` → ``criterion``); "" when it cannot tell."""
    if location is None:
        return ""
    import ast

    try:
        tree = ast.parse(linecache.getline(location.path, location.line).strip())
    except SyntaxError:
        return ""
    statement = tree.body[0] if tree.body else None
    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
        return ast.unparse(statement.value.func)
    return ""


_INLINE = ("<genexpr", "<listcomp", "<dictcomp", "<setcomp", "<lambda")


def call_site(skip: int = 1) -> tuple[str, tuple]:
    """The user function running now and where it was called from: ``("evaluate", key)``.

    ``key`` is that function's code and the lines of the user frames that called it, so two
    calls of ``evaluate(...)`` from two lines (val, then test) differ, while the same call
    made again from one loop (a ``validation_step(batch)`` per batch) does not.
    """
    frame = sys._getframe(skip)
    # The first user frame that is a function (a generator expression's is the function's).
    while frame is not None and (
        not is_user_file(frame.f_code.co_filename) or frame.f_code.co_name.startswith(_INLINE)
    ):
        frame = frame.f_back
    if frame is None:
        return "", ()
    name = frame.f_code.co_name
    key: list = [frame.f_code]
    frame = frame.f_back
    while frame is not None:
        code = frame.f_code
        if is_user_file(code.co_filename):
            key.append((code, frame.f_lineno))
        frame = frame.f_back
    return name, tuple(key)


def site_line(site: tuple) -> int:
    """The line a ``call_site`` key's function was called from (0: the outermost code)."""
    return site[1][1] if len(site) > 1 else 0
