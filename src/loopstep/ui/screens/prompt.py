"""pdb's expression prompt at a pause: type Python, see its value; the run stays where it is.

Every expression is evaluated by a training thread, never here: this screen only sends a
:class:`~...engine.expressions.FrameQuestion` and draws the answer it gets back. In a
torchrun job it asks the rank shown (another rank answers over loopstep's link to it), and
ctrl+r asks every rank in step, their answers side by side. Up/down walk the history
(kept for the whole session), tab completes names and attributes, ctrl+t allows statements
(``p.grad.zero_()``, assignments), which the status line then marks as "modified by you".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, RichLog, Static

from ...engine.expressions import Answer, FrameQuestion
from ..widgets.tensors_pane import values_text

#: Tensors up to this many elements show their values under the summary at once (ctrl+o
#: shows a bigger one's).
VALUES_AT_ONCE = 16


@dataclass(frozen=True)
class FrameAsker:
    """A training frame the prompt can ask: ``label`` ("" in a single process, "rank 1" in a
    job) and ``ask``, which hands it a question and gives the future of its answer."""

    label: str
    ask: Callable[[FrameQuestion], Future]


class Answered(Message):
    """A training thread's answer to what was typed (an Answer, or the error it raised);
    ``label``: whose answer, when every rank was asked."""

    def __init__(self, text: str, answer: Answer | None, error: str = "", label: str = "") -> None:
        super().__init__()
        self.text = text
        self.answer = answer
        self.error = error
        self.label = label


def _answered(text: str, future: Future, label: str) -> Answered:
    try:
        answer = future.result()
        if not isinstance(answer, Answer):
            raise TypeError(f"not an answer: {answer!r}")
        return Answered(text, answer, label=label)
    except Exception as exc:  # noqa: BLE001 - no frame (the run ended) or loopstep failed
        return Answered(text, None, str(exc) or type(exc).__name__, label)


class Located(Message):
    """Where the expressions are evaluated ("train() at train.py:42"), or why nowhere."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where


class Completed(Message):
    def __init__(self, typed: str, candidates: list[str]) -> None:
        super().__init__()
        self.typed = typed
        self.candidates = candidates


class ExpressionInput(Input):
    """The prompt's line: up/down walk the history, tab completes (the screen does the work)."""

    BINDINGS = [
        Binding("up", "history(-1)", show=False),
        Binding("down", "history(1)", show=False),
        Binding("tab", "complete", show=False, priority=True),
    ]

    def action_history(self, step: int) -> None:
        self.screen.walk_history(step)

    def action_complete(self) -> None:
        self.screen.complete(self.value)


class PromptScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("ctrl+t", "toggle_statements", "statements"),
        Binding("ctrl+o", "expand", "values"),
        Binding("ctrl+r", "toggle_every_rank", "every rank"),
        Binding("pageup", "scroll_log(-1)", show=False),
        Binding("pagedown", "scroll_log(1)", show=False),
    ]
    DEFAULT_CSS = """
    PromptScreen { align: center bottom; }
    PromptScreen > Vertical {
        width: 100%; height: 70%; border: heavy $accent; background: $surface; padding: 0 1;
    }
    PromptScreen RichLog { height: 1fr; }
    PromptScreen #prompt-where { height: 1; }
    PromptScreen #prompt-help { height: 1; color: $text-muted; }
    PromptScreen ExpressionInput, PromptScreen ExpressionInput:focus {
        border: none; height: 1; padding: 0 1; background: $boost;
    }
    """

    def __init__(
        self,
        frames: list[FrameAsker],
        history: list[str],
        *,
        statements: bool = False,
        on_modified: Callable[[], None] = lambda: None,
    ) -> None:
        """``frames``: the frame shown first (the one asked), then the job's other ranks."""
        super().__init__()
        self._frames = frames
        #: ctrl+r: every frame is asked, each answer under its rank.
        self.every_rank = False
        self.history = history
        self.statements = statements
        self._on_modified = on_modified
        self._position = len(history)
        self._last: Answer | None = None
        self.answers: list[Answer] = []  # every answer drawn (tests read them)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="prompt-where")
            yield RichLog(id="prompt-log", wrap=True, markup=False, highlight=False)
            yield ExpressionInput(
                placeholder="a Python expression, e.g. loss.item() (enter)", id="prompt-input"
            )
            ranks = " · ctrl+r every rank" if len(self._frames) > 1 else ""
            yield Static(
                f"enter · ↑↓ history · tab completes · ctrl+o values · ctrl+t statements{ranks} · pgup/pgdn · esc",
                id="prompt-help",
            )

    def on_mount(self) -> None:
        self.query_one(ExpressionInput).focus()
        self._locate()

    # ----- asking the training thread ------------------------------------------------------------
    def _asked(self) -> list[FrameAsker]:
        return self._frames if self.every_rank else self._frames[:1]

    def _send(self, frame: FrameAsker, question: FrameQuestion, done: Callable[[Future], None]) -> None:
        frame.ask(question).add_done_callback(done)

    def _locate(self) -> None:
        self._show_where("")
        if self.every_rank:
            self._show_where("", every=", ".join(frame.label for frame in self._frames))
            return
        self._send(self._frames[0], FrameQuestion("where"), self._where_answered)

    def _where_answered(self, future: Future) -> None:
        try:
            where = f"{future.result()}"
        except Exception as exc:  # noqa: BLE001 - said in the title line
            where = f"nothing to evaluate in: {exc}"
        label = self._frames[0].label
        self.post_message(Located(f"{label}: {where}" if label else where))

    def on_located(self, message: Located) -> None:
        self._show_where(message.where)

    def _show_where(self, where: str, every: str = "") -> None:
        mode = "statements ALLOWED (ctrl+t)" if self.statements else "read-only (ctrl+t allows statements)"
        shown = f"in {where} · " if where else (f"on every rank: {every} (ctrl+r: one) · " if every else "")
        self.query_one("#prompt-where", Static).update(Text(f"{shown}{mode}", style="bold", no_wrap=True))

    def on_input_submitted(self, message: Input.Submitted) -> None:
        text = message.value.strip()
        if not text:
            return
        message.input.value = ""
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self._position = len(self.history)
        self.query_one(RichLog).write(Text(f"› {text}", style="bold"))
        question = FrameQuestion("evaluate", text, self.statements)
        frames = self._asked()
        futures = [frame.ask(question) for frame in frames]
        left = [len(futures)]
        lock = threading.Lock()

        def done(_future: Future) -> None:  # once every frame answered: in the frames' order
            with lock:
                left[0] -= 1
                if left[0]:
                    return
            for frame, future in zip(frames, futures):
                self.post_message(_answered(text, future, frame.label if self.every_rank else ""))

        for future in futures:
            future.add_done_callback(done)

    def on_answered(self, message: Answered) -> None:
        log = self.query_one(RichLog)
        answer = message.answer
        lead = f"  {message.label}: " if message.label else "  "
        if answer is None:
            log.write(Text(f"{lead}✗ {message.error}", style="bold"))
            return
        self.answers.append(answer)
        width = max(20, log.size.width - len(lead) - 1)
        if answer.error:
            log.write(Text(f"{lead}✗ {answer.error}", style="bold"))  # whole, wrapped: it says what to do
        else:
            log.write(Text(lead + answer.line(width)))
            if (
                answer.summary is not None
                and answer.summary.numel <= VALUES_AT_ONCE
                and answer.summary.numel > 1
            ):
                log.write(Text(_indent(values_text(answer.summary))))
            elif answer.detail:
                log.write(Text(_indent(answer.detail)))
            self._last = answer
        if answer.modified:
            log.write(
                Text(
                    "  (this changed the run: a parameter, .grad, buffer such as BatchNorm's running"
                    " statistics, a tensor of the frame or the train/eval mode; the status line says"
                    " modified by you)",
                    style="bold",
                )
            )
            self._on_modified()

    def action_expand(self) -> None:
        """The last tensor's values (as many as the snapshot kept), under its summary."""
        answer = self._last
        log = self.query_one(RichLog)
        if answer is None or answer.summary is None:
            log.write(Text("  (no tensor to show the values of yet)", style="dim"))
            return
        log.write(Text(f"  {answer.expression}:", style="bold"))
        log.write(Text(_indent(values_text(answer.summary))))

    # ----- history and completion ------------------------------------------------------------
    def walk_history(self, step: int) -> None:
        if not self.history:
            return
        self._position = min(max(self._position + step, 0), len(self.history))
        line = self.query_one(ExpressionInput)
        line.value = self.history[self._position] if self._position < len(self.history) else ""
        line.cursor_position = len(line.value)

    def complete(self, typed: str) -> None:
        def done(future: Future) -> None:
            try:
                self.post_message(Completed(typed, list(future.result())))
            except Exception:  # noqa: BLE001 - nothing to complete in
                self.post_message(Completed(typed, []))

        self._send(self._frames[0], FrameQuestion("complete", typed), done)

    def on_completed(self, message: Completed) -> None:
        line = self.query_one(ExpressionInput)
        if line.value != message.typed or not message.candidates:
            return
        candidates = message.candidates
        common = _common_prefix(candidates)
        line.value = common if len(common) > len(message.typed) or len(candidates) == 1 else message.typed
        line.cursor_position = len(line.value)
        if len(candidates) > 1 and common == message.typed:
            tails = [c[len(message.typed) - len(_stem(message.typed)) :] for c in candidates[:40]]
            more = f" … {len(candidates) - 40} more" if len(candidates) > 40 else ""
            self.query_one(RichLog).write(Text("  " + "  ".join(tails) + more, style="dim"))

    def action_scroll_log(self, pages: int) -> None:
        log = self.query_one(RichLog)
        log.scroll_relative(y=pages * max(1, log.size.height - 1), animate=False)

    def action_toggle_statements(self) -> None:
        self.statements = not self.statements  # for this opening of the prompt only
        self._locate()

    def action_toggle_every_rank(self) -> None:
        if len(self._frames) == 1:
            self.query_one(RichLog).write(Text("  (one process: no other rank to ask)", style="dim"))
            return
        self.every_rank = not self.every_rank
        self._locate()

    def action_close(self) -> None:
        self.dismiss(None)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _stem(text: str) -> str:
    end = len(text)
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:]


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]
