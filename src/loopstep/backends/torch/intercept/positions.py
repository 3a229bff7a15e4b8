"""Where in the script's execution a call happened, and whether the loop came round since.

The phases of a script are only calls; what tells a new batch from one more call in the
same batch is the code around them. A training loop is a loop: when the next forward comes
from an instruction at or before the one the last backward came from, in the deepest frame
they share, the loop went round. When it comes from a later one, it is more of the same
batch (a GAN's generator after its discriminator, a head after its backbone). A helper
called again from the same place (``train_step(batch)``) is a new frame under a shared
one: a new round too.

Frames of torch and of loopstep are left out; a framework's own loop (Lightning's, the
transformers Trainer's) is the script's loop here, so its frames count.
"""

from __future__ import annotations

import os
import sys
from types import CodeType, FrameType

import torch

_SKIPPED = tuple(
    os.path.join(os.path.dirname(os.path.abspath(p)), "")
    for p in (torch.__file__, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
)

#: One frame of a position: its identity, its code and the instruction it was at (the byte
#: offset, not the line: ``model(x).sum().backward()`` is one line that runs forward first).
Frame = tuple[int, object, int]


def position(skip: int = 2, since: tuple[Frame, ...] | None = None) -> tuple[Frame, ...]:
    """The calling thread's stack, outermost first, without torch's and loopstep's frames,
    from the script's top level (``__main__``) in: what lies below it (the thread loopstep
    runs the script in) is the same at every call.

    ``since``, an earlier position: the walk stops at the innermost frame the two share, and
    the frames outside it are taken from ``since`` (a live frame's callers do not change), so
    a loop's call costs a frame or two, not the whole stack."""
    frames: list[Frame] = []
    frame = sys._getframe(skip)
    kinds = _KINDS
    shared = {entry[0]: depth for depth, entry in enumerate(since)} if since else None
    while frame is not None:
        code = frame.f_code
        kind = kinds.get(code)
        if kind is None:
            kind = kinds[code] = _kind(code)
        if kind is not _LEFT_OUT:
            frames.append((id(frame), code, frame.f_lasti))
            if shared:
                depth = shared.get(id(frame))
                if depth is not None and since[depth][1] is code:
                    frames.reverse()
                    return since[:depth] + tuple(frames)
            if kind is _TOP_LEVEL and is_main(frame):
                break
        frame = frame.f_back
    frames.reverse()
    return tuple(frames)


def is_main(frame: FrameType) -> bool:
    """The frame runs the top level of the program's main module (the script)."""
    return frame.f_globals.get("__name__") == "__main__"


def _kind(code: CodeType) -> str:
    if code.co_filename.startswith(_SKIPPED):
        return _LEFT_OUT
    return _TOP_LEVEL if code.co_name == "<module>" else _KEPT


#: Per code object, looked up once: a loop's frames are walked at every backward.
_KINDS: dict[CodeType, str] = {}
_LEFT_OUT, _TOP_LEVEL, _KEPT = "left out", "top level", "kept"


def came_round(now: tuple[Frame, ...], before: tuple[Frame, ...] | None) -> bool:
    """Whether the code reached ``now`` by going round a loop since ``before`` (True), or by
    going on after it in the same pass (False). No ``before``: nothing to go round from."""
    if not before:
        return False
    depth = 0
    while depth < len(now) and depth < len(before) and now[depth][:2] == before[depth][:2]:
        depth += 1
    if depth == 0:
        return True  # no frame in common: a fresh start of the training code
    _, _, at_now = now[depth - 1]
    _, _, at_before = before[depth - 1]
    if at_now != at_before:
        return at_now < at_before
    # The same instruction of the deepest shared frame: a helper called again from it is a new
    # round (its frame is a new one); the very same call going on is not.
    return depth < len(now) and depth < len(before)
