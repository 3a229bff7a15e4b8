"""Watch expressions: re-evaluated at every pause (in a text stream, at every printed phase),
each value compared with the one before so a change stands out.

An expression that takes longer than :data:`SLOW_SECONDS` is marked slow; a disabled one is
not evaluated until enabled again. The list outlives a restart: the app keeps one Watches.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .expressions import Answer, evaluate, is_statement
from .training_frame import NoFrame, TrainingFrame

#: A watch slower than this is marked slow (and may be disabled with a key).
SLOW_SECONDS = 1.0


class WatchError(ValueError):
    """A watch that can never be a watch: not Python, or it would change the run."""


@dataclass(frozen=True)
class WatchValue:
    expression: str
    answer: Answer | None  # None: disabled, not evaluated
    changed: bool = False
    slow: bool = False


def check_watch(expression: str) -> str:
    """The expression, stripped, or WatchError saying why it cannot be watched."""
    text = expression.strip()
    if not text:
        raise WatchError("a watch needs an expression, e.g. --watch 'loss.item()'")
    try:
        compile(text, "<watch>", "eval")
    except SyntaxError as exc:
        raise WatchError(f"--watch {text!r} is not a Python expression: {exc.msg}") from None
    if is_statement(text):
        raise WatchError(f"--watch {text!r} would change the run; a watch only reads")
    return text


class Watches:
    """The watch list and the last value of each; add and remove from any thread."""

    def __init__(self, expressions: tuple[str, ...] | list[str] = ()) -> None:
        self._lock = threading.Lock()
        self._expressions: list[str] = []
        self.disabled: set[str] = set()
        self.slow: set[str] = set()
        self._last: dict[str, str] = {}
        for expression in expressions:
            self.add(expression)

    @property
    def expressions(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._expressions)

    def add(self, expression: str) -> str:
        text = check_watch(expression)
        with self._lock:
            if text not in self._expressions:
                self._expressions.append(text)
        return text

    def remove(self, expression: str) -> None:
        with self._lock:
            if expression in self._expressions:
                self._expressions.remove(expression)
            self._last.pop(expression, None)
            self.disabled.discard(expression)
            self.slow.discard(expression)

    def toggle(self, expression: str) -> bool:
        """Disable or enable one watch; True when it is now enabled."""
        with self._lock:
            if expression in self.disabled:
                self.disabled.discard(expression)
                return True
            self.disabled.add(expression)
            return False

    def evaluate(self, frame: TrainingFrame | None, why: str = "") -> tuple[WatchValue, ...]:
        """Every watch's value in ``frame`` (training thread, paused); without a frame, each
        says why (``why``: the run has ended)."""
        values = []
        for expression in self.expressions:
            if expression in self.disabled:
                values.append(WatchValue(expression, None, slow=expression in self.slow))
                continue
            if frame is None:
                answer = Answer(expression, "", error=why or "nothing to evaluate in")
            else:
                answer = evaluate(frame, expression)
            if answer.seconds > SLOW_SECONDS:
                self.slow.add(expression)
            shown = answer.line()
            before = self._last.get(expression)
            self._last[expression] = shown
            values.append(
                WatchValue(expression, answer, changed=before is not None and before != shown,
                           slow=expression in self.slow)
            )  # fmt: skip
        return tuple(values)

    def evaluate_at(self, stepper) -> tuple[WatchValue, ...]:
        """The values at the stepper's pause, called in the training thread."""
        if not self.expressions:
            return ()
        try:
            frame = stepper.training_frame()
        except NoFrame as exc:
            return self.evaluate(None, str(exc))
        values = self.evaluate(frame)
        event = stepper.last_event
        if event is not None:  # a number is charted over time (engine/metrics.py)
            numbers = {v.expression: v.answer.number for v in values if v.answer is not None}
            stepper.metrics.note_watches(event.iteration, numbers)
        return values
