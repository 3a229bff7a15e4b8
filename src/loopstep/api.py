"""``loopstep.debug(...)``: the app (or the text stream) on a model, optimizer, loss and
batches handed over from Python; loopstep owns the loop, as for the built-in scenarios."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .experiment import Experiment, experiment_session, restartable
from .targets import RunOptions, prepared


def debug(
    model: Any,
    optimizer: Any,
    loss_fn: Callable[[Any, Any], Any],
    train_loader: Iterable[tuple[Any, Any]],
    val_loader: Iterable[tuple[Any, Any]] | None = None,
    epochs: int = 1,
    *,
    iterations: int | None = None,
    tui: bool = True,
    fmt: str = "text",
    breaks: Iterable[str] = (),
    on_stop: str = "stop",
    watches: Iterable[str] = (),
) -> int:
    """Step through training of ``model`` in the app (or, ``tui=False``, print every phase).

    Returns the exit status, as the commands do: 0 when training finished or was ended, 1
    when it raised, 3 when a stop condition ended a text-mode run; bad arguments raise
    ValueError.
    """
    from .frontend import FrontendError, run_app, run_stream
    from .targets import TargetError

    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if fmt not in ("text", "jsonl"):
        raise ValueError(f"fmt must be 'text' or 'jsonl', got {fmt!r}")
    experiment = Experiment(
        model, optimizer, loss_fn, train_loader, val_loader, epochs, title="loopstep.debug"
    )
    session = experiment_session(
        restartable(experiment), experiment.title, first=experiment, max_iterations=iterations
    )
    try:
        session = prepared(session, RunOptions(breaks=list(breaks), watches=list(watches)))
        if tui:
            return run_app(session, command="loopstep.debug", returns_to_caller=True)
        return run_stream(session, fmt=fmt, on_stop=on_stop, redirect_stdout=False, returns_to_caller=True)
    except (TargetError, FrontendError) as exc:
        raise ValueError(str(exc).removeprefix("loopstep: ")) from None
