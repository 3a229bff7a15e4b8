"""pdb's expression prompt at a pause: type Python, see its value; the run stays where it is.

Every expression is evaluated by the training thread (``stepper.ask``), never here: this
screen only sends the text and draws the answer it gets back. Up/down walk the history
(kept for the whole session), tab completes names and attributes, ctrl+t allows statements
(``p.grad.zero_()``, assignments), which the status line then marks as "modified by you".
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, RichLog, Static

from ...engine.expressions import Answer
from ..widgets.tensors_pane import values_text

#: Tensors up to this many elements show their values under the summary at once (ctrl+o
#: shows a bigger one's).
VALUES_AT_ONCE = 16


class Answered(Message):
    """The training thread's answer to what was typed (an Answer, or the error it raised)."""

    def __init__(self, text: str, answer: Answer | None, error: str = "") -> None:
        super().__init__()
        self.text = text
        self.answer = answer
        self.error = error


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
        ask: Callable[[Callable], Future],
        history: list[str],
        *,
        statements: bool = False,
        on_modified: Callable[[], None] = lambda: None,
    ) -> None:
        """``ask`` hands a question to the training thread (the stepper's ``ask``)."""
        super().__init__()
        self._ask = ask
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
            yield Static(
                "enter · ↑↓ history · tab completes · ctrl+o values · ctrl+t statements · pgup/pgdn · esc",
                id="prompt-help",
            )

    def on_mount(self) -> None:
        self.query_one(ExpressionInput).focus()
        self._show_where("")
        self._send(lambda frame: frame.where, self._where_answered)

    # ----- asking the training thread ------------------------------------------------------------
    def _send(self, question: Callable, done: Callable[[Future], None]) -> None:
        future = self._ask(question)
        future.add_done_callback(done)

    def _where_answered(self, future: Future) -> None:
        try:
            where = future.result()
        except Exception as exc:  # noqa: BLE001 - said in the title line
            where = f"nothing to evaluate in: {exc}"
        self.post_message(Located(where))

    def on_located(self, message: Located) -> None:
        self._show_where(message.where)

    def _show_where(self, where: str) -> None:
        mode = "statements ALLOWED (ctrl+t)" if self.statements else "read-only (ctrl+t allows statements)"
        shown = f"in {where} · " if where else ""
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
        statements = self.statements

        def question(frame):
            from rich.pretty import pretty_repr

            from ...engine.expressions import evaluate

            return evaluate(
                frame, text, statements=statements, pretty=lambda v: pretty_repr(v, max_width=100)
            )

        def done(future: Future) -> None:
            try:
                self.post_message(Answered(text, future.result()))
            except Exception as exc:  # noqa: BLE001 - no frame (the run ended) or loopstep failed
                self.post_message(Answered(text, None, str(exc) or type(exc).__name__))

        self._send(question, done)

    def on_answered(self, message: Answered) -> None:
        log = self.query_one(RichLog)
        answer = message.answer
        if answer is None:
            log.write(Text(f"  ✗ {message.error}", style="bold"))
            return
        self.answers.append(answer)
        width = max(20, log.size.width - 3)
        if answer.error:
            log.write(Text(f"  ✗ {answer.error}", style="bold"))  # whole, wrapped: it says what to do
        else:
            log.write(Text("  " + answer.line(width)))
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
        def question(frame):
            from ...engine.expressions import complete

            return complete(frame, typed)

        def done(future: Future) -> None:
            try:
                self.post_message(Completed(typed, future.result()))
            except Exception:  # noqa: BLE001 - nothing to complete in
                self.post_message(Completed(typed, []))

        self._send(question, done)

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
        self._show_where("")
        self._send(lambda frame: frame.where, self._where_answered)

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
