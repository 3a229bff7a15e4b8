"""The training frame: the names an expression typed at a pause can use.

For a script run by ``loopstep run`` it is the user's own frame, at the line that made the
phase (its locals and globals); for a loop loopstep owns it is a namespace of the loop's
objects (``model``, ``optimizer``, ``x``, ``pred``, ``loss``, ... or the NumPy lesson's
``w``, ``b``, ``w_grad``); for a replay, what the recording holds. Each source builds one
(:meth:`~loopstep.engine.protocols.PhaseSource.training_frame`), in the training thread,
while it is paused; expressions are evaluated there too, never from the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from .summary import TensorSummary


class NoFrame(Exception):
    """There is nothing to evaluate in at this moment (the run ended; looking back)."""


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@dataclass
class TrainingFrame:
    """What :func:`~loopstep.engine.expressions.evaluate` needs of a source."""

    #: The local names (a copy: reading never changes the frame).
    names: dict[str, Any]
    globals: dict[str, Any]
    #: Where the names come from, for the prompt's title ("train() at train.py:42").
    where: str
    #: A tensor's summary and whether it requires grad; None for anything that is not a tensor.
    describe: Callable[[Any], tuple[TensorSummary, bool] | None] = lambda value: None
    #: Around each evaluation: the source sees none of the calls the expression makes (a
    #: ``model(x)`` typed at the prompt is not a forward of the run) and the random number
    #: generators the run draws from are left as they were.
    quiet: Callable[[], AbstractContextManager] = _nothing
    #: Changes when the run's state does (a parameter, a grad, a buffer, the model's mode):
    #: an expression that changed it is reported as a modification.
    fingerprint: Callable[[], Hashable] = lambda: None
    #: Puts names a statement assigned back into the frame; None where that cannot be done.
    write_back: Callable[[Mapping[str, Any]], None] | None = None
    #: For a name the frame does not have: what it does have ("the recording holds ...").
    missing_hint: str = ""
    #: Names worth listing first in the variables pane (the loop's own objects).
    first: tuple[str, ...] = field(default_factory=tuple)
    #: False where nothing can be changed (a recording): statements are refused there.
    writable: bool = True
    #: The parts of a value the variables pane opens it into, as (label, value) pairs; None
    #: when the source has nothing special to say (a model's children and parameters).
    expand: Callable[[Any], list[tuple[str, Any]] | None] = lambda value: None

    def scope(self) -> dict[str, Any]:
        """Globals and locals as one mapping, the locals winning (as Python looks names up)."""
        return {**self.globals, **self.names}
