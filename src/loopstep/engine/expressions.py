"""pdb's ``p EXPR`` at a training pause: evaluate what the user typed in the training frame.

Reading must never change the run. An expression is compiled as an expression; one that
calls something that changes what it is called on (``p.grad.zero_()``, ``opt.step()``,
``model.train()``, ``next(it)``, ``xs.append(1)``) or assigns (``x := 1``) is refused as a
statement, and statements run only once the user allowed them. Whatever ran, the frame's
fingerprint (parameters, grads, buffers, modes) is compared before and after: a change
made anyway is reported as a modification, never hidden.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import math
import pprint
import reprlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .summary import TensorSummary
from .tensor_line import tensor_line
from .training_frame import TrainingFrame

#: Methods that change the object they are called on, beyond torch's trailing-underscore ones.
CHANGING_METHODS = frozenset(
    "backward step zero_grad train eval apply load_state_dict add_module register_buffer "
    "register_parameter register_module append extend insert pop remove clear update setdefault "
    "popitem add discard sort reverse write send close fill put itemset resize setfield partition "
    "byteswap setflags".split()
)
#: Builtins that change something or run code of their own.
CHANGING_BUILTINS = frozenset(
    "setattr delattr exec eval compile __import__ next open input breakpoint".split()
)
#: How long one line of a value's text may be before the rest is cut (the prompt shows more).
DETAIL_WIDTH = 100


class Refused(Exception):
    """The text would change the run and statements are not allowed."""


@dataclass(frozen=True)
class Answer:
    """What an expression gave, as plain data the UI thread may hold."""

    expression: str
    #: One line: a tensor's summary, a number, or the start of the value's repr.
    text: str
    #: More lines: the value pretty-printed (for a tensor the values come from ``summary``).
    detail: str = ""
    #: The one-line error, when it raised (or was refused); the run is not affected.
    error: str = ""
    summary: TensorSummary | None = None
    requires_grad: bool = False
    #: A plain number, for JSONL and the charts.
    number: float | None = None
    #: The statement or expression changed the run's state.
    modified: bool = False
    seconds: float = 0.0
    #: A value JSON can hold as it is (None, True, a short string), for a JSONL record.
    literal: Any = None

    def line(self, width: int | None = None) -> str:
        """The answer on one line of at most ``width`` columns, never cutting a number."""
        if self.error:
            return self.error if width is None else _clip(self.error, width)
        if self.summary is not None:
            return tensor_line(self.summary, width, grad=self.requires_grad)
        return self.text if width is None else _clip(self.text, width)

    def to_json(self) -> Any:
        """For a JSONL record: a number as a number, a tensor as its line plus shape and dtype."""
        if self.error:
            return {"error": self.error}
        if self.summary is not None:
            return {"summary": self.line(), "shape": list(self.summary.shape), "dtype": self.summary.dtype}
        if self.number is not None and math.isfinite(self.number):
            return self.number
        if self.literal is not None or self.text == "None":
            return self.literal
        return self.text


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def is_statement(text: str) -> bool:
    """True when ``text`` would change the run: not an expression, or an expression that
    calls a changing method or builtin, or assigns with ``:=``."""
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError:
        return False  # evaluate() reports the syntax error itself
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.NamedExpr):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and _changing_method(func.attr):
                return True
            if isinstance(func, ast.Name) and func.id in CHANGING_BUILTINS:
                return True
    return False


def _changing_method(name: str) -> bool:
    return name in CHANGING_METHODS or (name.endswith("_") and not name.startswith("_"))


def evaluate(
    frame: TrainingFrame,
    text: str,
    *,
    statements: bool = False,
    pretty: Callable[[Any], str] | None = None,
) -> Answer:
    """Evaluate ``text`` in ``frame``; call in the training thread, while it is paused.

    An expression gives its value; a statement (only with ``statements=True``) runs and its
    assignments go back into the frame. Any exception becomes the answer's one-line error.
    """
    text = text.strip()
    started = time.perf_counter()
    if not text:
        return Answer(text, "", error="type an expression, e.g. loss.item()")
    changing = is_statement(text)
    if changing and not frame.writable:
        return Answer(text, "", error=f"{frame.where} cannot be changed: only expressions that read it")
    if changing and not statements:
        return Answer(
            text,
            "",
            error="this changes the run (a statement, or a call that modifies its object): allow statements first",
        )
    before = frame.fingerprint()
    scope = frame.scope()
    try:
        with frame.quiet():
            if changing:
                value = _run_statement(frame, text, scope)
            else:
                value = eval(compile(text, "<expression>", "eval"), scope)
            answer = (
                Answer(text, "done")
                if changing and value is None
                else describe_value(text, value, frame, pretty)
            )
    except Exception as exc:  # noqa: BLE001 - the user's expression raised: shown, never raised
        answer = Answer(text, "", error=_error_line(exc, frame, text))
    modified = changing or frame.fingerprint() != before
    return Answer(
        answer.expression,
        answer.text,
        answer.detail,
        answer.error,
        answer.summary,
        answer.requires_grad,
        answer.number,
        modified=modified,
        seconds=time.perf_counter() - started,
        literal=answer.literal,
    )


@dataclass(frozen=True)
class FrameQuestion:
    """What the prompt asks a training frame, as plain data: it may cross to another rank of a
    torchrun job, to be answered there by :func:`answer_in_frame`."""

    #: "where" (the frame's place), "evaluate" (``text``), "complete" (``text`` as typed).
    kind: str
    text: str = ""
    statements: bool = False


QUESTION_KINDS = frozenset({"where", "evaluate", "complete"})


def answer_in_frame(
    frame: TrainingFrame, question: FrameQuestion, pretty: Callable[[Any], str] | None = None
) -> str | Answer | list[str]:
    """The answer to ``question`` in ``frame`` (training thread, paused): the place for
    "where", an :class:`Answer` for "evaluate", the completions for "complete"."""
    if question.kind == "where":
        return frame.where
    if question.kind == "complete":
        return complete(frame, question.text)
    if question.kind == "evaluate":
        return evaluate(frame, question.text, statements=question.statements, pretty=pretty)
    raise ValueError(f"no such question: {question.kind!r} (one of {', '.join(sorted(QUESTION_KINDS))})")


def _run_statement(frame: TrainingFrame, text: str, scope: dict) -> Any:
    """Run a statement; a last expression gives the value (as in a notebook cell)."""
    tree = ast.parse(text, mode="exec")
    last = tree.body[-1] if isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body.pop()
    scope_before = dict(scope)
    exec(compile(tree, "<statement>", "exec"), scope)
    changed = {k: v for k, v in scope.items() if k not in scope_before or scope_before[k] is not v}
    changed.pop("__builtins__", None)
    if changed and frame.write_back is not None:
        frame.write_back(changed)
    frame.names.update(changed)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "<statement>", "eval"), scope)


def _error_line(exc: Exception, frame: TrainingFrame, text: str) -> str:
    line = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, NameError) and frame.missing_hint:
        line += f" ({frame.missing_hint})"
    return line


_REPR = reprlib.Repr()
_REPR.maxstring = 200
_REPR.maxother = 200


def describe_value(
    text: str, value: Any, frame: TrainingFrame, pretty: Callable[[Any], str] | None = None
) -> Answer:
    """An Answer for ``value``: a tensor as its summary, a number as itself, anything else by
    its pretty-printed repr (the first line on the answer's line)."""
    tensor = frame.describe(value)
    if tensor is not None:
        summary, grad = tensor
        return Answer(text, tensor_line(summary, grad=grad), summary=summary, requires_grad=grad,
                      number=summary.scalar() if summary.numel == 1 else None)  # fmt: skip
    if value is None or isinstance(value, bool):
        return Answer(text, repr(value), literal=value)
    if isinstance(value, int | float):
        return Answer(text, repr(value), number=float(value))
    try:
        detail = (
            pretty(value) if pretty is not None else pprint.pformat(value, width=DETAIL_WIDTH, compact=True)
        )
    except Exception:  # noqa: BLE001 - a broken __repr__ is the user's; say so briefly
        detail = _REPR.repr(value)
    lines = detail.splitlines() or [""]
    first = lines[0] if len(lines) == 1 else f"{lines[0]} … ({len(lines)} lines)"
    return Answer(text, first, detail=detail if len(lines) > 1 else "")


def complete(frame: TrainingFrame, text: str) -> list[str]:
    """Completions of the last name or attribute in ``text`` (rlcompleter's rules): the
    whole text with each candidate put in, sorted, private names only when asked for."""
    head, dot, stem = _split_completion(text)
    if dot:
        scope = frame.scope()
        base_text = head.rstrip(".")
        expression = base_text[_start_of_operand(base_text) :]
        if not expression or is_statement(expression):
            return []
        try:
            with frame.quiet():
                base = eval(compile(expression, "<completion>", "eval"), scope)
        except Exception:  # noqa: BLE001 - nothing to complete on
            return []
        names = set(_attributes(base))
    else:
        names = set(frame.scope()) | set(dir(builtins)) | set(keyword.kwlist)
    private = stem.startswith("_")
    found = sorted(n for n in names if n.startswith(stem) and (private or not n.startswith("_")))
    return [head + name for name in found]


def _attributes(value: Any) -> list[str]:
    try:
        names = list(dir(value))
    except Exception:  # noqa: BLE001
        return []
    children = getattr(value, "_modules", None)  # a module's submodules by name, as dir() has them
    if isinstance(children, dict):
        names += [k for k in children if k.isidentifier()]
    return names


def _split_completion(text: str) -> tuple[str, bool, str]:
    """``model.fc`` → (``model.``, True, ``fc``); ``mod`` → ("", False, ``mod``)."""
    end = len(text)
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    stem = text[start:]
    dot = start > 0 and text[start - 1] == "."
    return text[:start], dot, stem


def _start_of_operand(text: str) -> int:
    """Where the dotted operand that ends ``text`` starts (``(pred.argmax(1) == y`` → ``y``)."""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char in ")]":
            depth += 1
        elif char in "([":
            if depth == 0:
                return index + 1
            depth -= 1
        elif depth == 0 and not (char.isalnum() or char in "._"):
            return index + 1
    return 0
