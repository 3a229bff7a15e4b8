"""Recordings: a run written to one append-only file, and replayed through the stepper.

``record_session`` wraps any Session so its runs are recorded; ``read_recording`` checks a
file and ``replay_session`` makes a Session that replays it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..lazy import lazy_attributes

if TYPE_CHECKING:
    from ..session import Session
    from .format import POLICIES, VERSION, RecordingError
    from .reader import RecordedPhase, Recording, read_recording
    from .replay import RecordedFailure, ReplayInspector, ReplaySource, replay_session
    from .writer import RecordingSource

#: Names loaded on first use: the app's first frame must not wait for the reader, the
#: writer and NumPy.
_LAZY = {
    "POLICIES": "format",
    "VERSION": "format",
    "RecordingError": "format",
    "RecordedPhase": "reader",
    "Recording": "reader",
    "read_recording": "reader",
    "RecordedFailure": "replay",
    "ReplayInspector": "replay",
    "ReplaySource": "replay",
    "replay_session": "replay",
    "RecordingSource": "writer",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


def record_session(
    session: Session, path: str, policy: str = "small", rank: tuple[int, int] | None = None
) -> Session:
    """The same session, with every run it starts recorded to ``path`` (a restart starts the
    file anew); ``rank``: this process's rank in a torchrun job and the job's world size."""
    meta: dict = {
        "title": session.title,
        "scenario": session.scenario,
        "backend": session.backend,
        "settings": [bool(session.settings.zero_grad), session.settings.lr],
    }
    if rank is not None:
        meta["rank"], meta["world_size"] = rank
    if session.code_for is not None:
        try:
            view = session.code_for(None)
            meta["code"] = {"text": view.text, "path": view.path}
        except Exception:  # noqa: BLE001 - the code pane is optional in a recording
            pass
    make_inner = session.make_source

    def make_source():
        from .writer import RecordingSource

        return RecordingSource(make_inner(), path, policy, meta)

    # No what-if branch: a fresh source here would be a second recording of the same file.
    return replace(session, make_source=make_source, branches=False)


__all__ = [
    "POLICIES",
    "VERSION",
    "RecordedFailure",
    "RecordedPhase",
    "Recording",
    "RecordingError",
    "RecordingSource",
    "ReplayInspector",
    "ReplaySource",
    "read_recording",
    "record_session",
    "replay_session",
]
