"""Questions about a pause (an expression, a watch, the variables), asked from any thread and
answered by the training thread while it waits at the pause: the objects they touch belong to
the training code, and only that thread may run it. A mixin of :class:`~.stepper.Stepper`."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .training_frame import NoFrame, TrainingFrame


def answer_question(question: Callable[[], Any], future: Future) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(question())
    except BaseException as exc:  # noqa: BLE001 - the asker gets it; the run stays paused
        future.set_exception(exc)


class AnsweringQuestions:
    """Answers questions at a pause; the stepper provides the queue and the run's state."""

    ended: threading.Event
    _commands: queue.Queue
    look_back: Any
    source: Any

    def ask(self, question: Callable[[], Any]) -> Future:
        """Have the training thread answer ``question()`` while it is paused (now, or at the
        next pause); the future holds the answer or the exception. Safe from any thread."""
        future: Future = Future()
        if self.ended.is_set():
            future.set_exception(NoFrame("the run has ended"))
        else:
            self._commands.put((None, (question, future)))  # type: ignore[arg-type]
            if self.ended.is_set():
                self._drop_questions()
        return future

    def training_frame(self) -> TrainingFrame:
        """The names of the pause, for expressions and watches (training thread, paused)."""
        if self.look_back is not None and self.look_back.active:
            raise NoFrame(
                "looking back at an earlier pause: expressions see only the live one (s goes forward)"
            )
        return self.source.training_frame(self)

    def _drop_questions(self) -> None:
        """The run is over: questions left in the queue get that answer."""
        kept = []
        while True:
            try:
                item = self._commands.get_nowait()
            except queue.Empty:
                break
            if item[0] is None:
                item[1][1].set_exception(NoFrame("the run has ended"))
            else:
                kept.append(item)
        for item in kept:
            self._commands.put(item)
