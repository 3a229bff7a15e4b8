"""The front-end runner: one place that owns the training thread, signals, the terminal and
the exit status, for the app and for text mode alike.

Commands and ``loopstep.debug`` resolve what to run into a Session (``loopstep.targets``)
and hand it to :func:`run_app` or :func:`run_stream`; nothing else installs a signal
handler or decides an exit status.
"""

from __future__ import annotations

from .exits import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOFTWARE,
    EXIT_STOPPED,
    EXIT_TRAINING_FAILED,
    EXIT_USAGE,
    FrontendError,
)

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SOFTWARE",
    "EXIT_STOPPED",
    "EXIT_TRAINING_FAILED",
    "EXIT_USAGE",
    "FrontendError",
    "run_app",
    "run_stream",
]


def __getattr__(name: str):
    """The runners load on first use: `loopstep --help` needs none of them."""
    if name in ("run_app", "run_stream", "run_headless"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
