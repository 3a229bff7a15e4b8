"""``loopstep.debug(...)``: the app (or the text stream) on a model, optimizer, loss and
batches handed over from Python; loopstep owns the loop, as for the built-in scenarios.
``loopstep.listen()``: the calling script becomes a listening run, as under
``loopstep run --listen``."""

from __future__ import annotations

import os
import sys
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


def listen(
    address: str | None = None,
    *,
    breaks: Iterable[str] = (),
    on_stop: str = "wait",
    watches: Iterable[str] = (),
    non_loopback: bool = False,
) -> None:
    """Make the running script a listening run, as ``loopstep run --listen`` would: for a
    script started by something else (a cluster launcher, ``torchrun``, a job scheduler).

    Call it first thing, before any training: the script starts again from its top under
    ``loopstep run --listen``, in this same process (exec: same pid, environment and
    arguments), so whatever ran before the call runs twice; under loopstep already, the call
    returns at once. ``address``: ``"tcp:HOST:PORT"`` to listen there too; ``breaks``,
    ``on_stop`` (``"wait"`` or ``"continue"``) and ``watches`` as the options of that name.
    Bad arguments raise ValueError; this never returns otherwise.
    """
    intercepting = sys.modules.get("loopstep.backends.torch.intercept.hooks")
    if intercepting is not None and intercepting.intercepting_this_thread():
        return
    argv = _listen_argv(address, list(breaks), on_stop, list(watches), non_loopback)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


def _listen_argv(
    address, breaks: list[str], on_stop: str, watches: list[str], non_loopback: bool
) -> list[str]:
    import argparse

    from .frontend.addresses import listen_address
    from .targets import TargetError, parse_breaks

    if on_stop not in ("wait", "continue"):
        raise ValueError(f"on_stop must be 'wait' or 'continue', got {on_stop!r}")
    try:
        tcp = listen_address(address) if address is not None else None
        parse_breaks(breaks)
    except (argparse.ArgumentTypeError, TargetError) as exc:
        raise ValueError(str(exc).removeprefix("loopstep: ")) from None
    if tcp is not None and not tcp.loopback and not non_loopback:
        raise ValueError(f"{address} can be reached from other machines: pass non_loopback=True to mean it")
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(main, "__spec__", None) is not None:
        raise ValueError(
            "loopstep.listen() restarts a script run as `python FILE.py`; for `python -m` or an "
            "interactive session, start it with: loopstep run --listen SCRIPT.py"
        )
    argv = [sys.executable, "-m", "loopstep", "run", f"--listen={address or 'unix'}", f"--on-stop={on_stop}"]
    argv += [f"--break={b}" for b in breaks] + [f"--watch={w}" for w in watches]
    if non_loopback:
        argv.append("--listen-non-loopback")
    return [*argv, "--", os.path.abspath(path), *sys.argv[1:]]
