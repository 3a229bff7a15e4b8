"""Quick check: a few multiple-choice questions on the loop, each answer explained.

The questions live in ``quick_check.json`` next to the app, not in this code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static


@dataclass(frozen=True)
class Question:
    topic: str
    question: str
    choices: tuple[str, ...]
    answer: int
    explanation: str


def load_questions() -> tuple[Question, ...]:
    raw = json.loads(resources.files("loopstep.ui").joinpath("quick_check.json").read_text("utf-8"))
    questions = []
    for item in raw:
        choices = tuple(item["choices"])
        if not 0 <= item["answer"] < len(choices):
            raise ValueError(f"quick check: answer out of range in {item['question']!r}")
        questions.append(
            Question(item["topic"], item["question"], choices, item["answer"], item["explanation"])
        )
    return tuple(questions)


class QuickCheckScreen(ModalScreen[int]):
    """Dismisses with the number of questions answered right on the first try."""

    BINDINGS = [
        Binding("escape,q", "close", "close"),
        Binding("right,n", "next_question", "next question"),
    ]
    DEFAULT_CSS = """
    QuickCheckScreen { align: center middle; }
    QuickCheckScreen > VerticalScroll {
        width: 90%; max-width: 90; height: 90%; max-height: 30;
        border: heavy $accent; background: $surface; padding: 0 1;
    }
    QuickCheckScreen OptionList { height: auto; margin: 1 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.questions = load_questions()
        self.index = 0
        self.score = 0
        self.answered: int | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "quick check"
            yield Static(id="qc-question")
            yield OptionList(id="qc-choices")
            yield Static(id="qc-feedback")

    def on_mount(self) -> None:
        self._show_question()

    def _show_question(self) -> None:
        question = self.questions[self.index]
        self.answered = None
        head = Text(f"{self.index + 1}/{len(self.questions)} · {question.topic}\n", style="dim")
        head.append(question.question, style="bold")
        self.query_one("#qc-question", Static).update(head)
        choices = self.query_one("#qc-choices", OptionList)
        choices.clear_options()
        choices.add_options([f"{chr(ord('a') + i)}) {text}" for i, text in enumerate(question.choices)])
        choices.highlighted = 0
        choices.focus()
        self.query_one("#qc-feedback", Static).update(
            Text("enter picks an answer · escape closes", style="dim")
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.answered is not None:
            return
        question = self.questions[self.index]
        self.answered = event.option_index
        right = event.option_index == question.answer
        if right:
            self.score += 1
        verdict = Text("Right. " if right else "Not quite. ", style="bold")
        if not right:
            verdict.append(f"The answer is {chr(ord('a') + question.answer)}. ", style="bold")
        verdict.append(question.explanation)
        last = self.index + 1 == len(self.questions)
        tail = (
            f"\n\nScore: {self.score}/{len(self.questions)} · escape closes"
            if last
            else "\n\nn or → for the next question"
        )
        verdict.append(tail, style="dim")
        self.query_one("#qc-feedback", Static).update(verdict)

    def action_next_question(self) -> None:
        if self.index + 1 < len(self.questions):
            self.index += 1
            self._show_question()

    def action_close(self) -> None:
        self.dismiss(self.score)
