"""Diagnostics: what looks wrong in the training loop, newest findings marked.

Findings come from the engine's Diagnostics observer; the app copies them into the view
at each pause and a few times a second while running. A finding that arrived since the
previous pause is marked NEW (bold and reversed, so it shows without colour too).
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..view import View

MARK = {"error": "E", "warning": "W", "info": "i"}


class DiagnosticsPane(VerticalScroll):
    DEFAULT_CSS = "DiagnosticsPane { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "diagnostics"
        self._shown: tuple = ()
        self._seen = 0  # findings already shown at an earlier pause

    def compose(self):
        yield Static("", id="diagnostics-text")

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        findings = view.findings
        if findings == self._shown and self.is_mounted:
            return
        new_from = self._seen if len(findings) >= self._seen else 0
        self._shown = findings
        self.border_title = f"diagnostics ({len(findings)})" if findings else "diagnostics"
        self.query_one("#diagnostics-text", Static).update(render_findings(findings, new_from))
        if view.state.value != "running":
            self._seen = len(findings)


def render_findings(findings: tuple, new_from: int) -> Group | Text:
    if not findings:
        return Text("no findings so far", style="dim")
    lines = []
    for index, f in enumerate(findings):
        head = Text(no_wrap=True, overflow="ellipsis")
        if index >= new_from:
            head.append(" NEW ", style="bold reverse")
            head.append(" ")
        head.append(f"{MARK.get(f.severity, '?')} {f.id}", style="bold" if f.severity != "info" else "")
        head.append(f"  iter {f.iteration}")
        if f.location:
            head.append(f"  {f.location}", style="dim")
        lines.append(head)
        lines.append(Text(f"   {f.message}"))
        lines.append(Text(f"   why: {f.why}", style="dim"))
        lines.append(Text(f"   fix: {f.fix}", style="italic"))
    return Group(*lines)
