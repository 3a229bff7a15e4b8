"""Open a target in the app or print its phases: what demo, trace, run and replay share."""

from __future__ import annotations

import argparse

from ..targets import Kind, Target, check_kind, parse_breaks, session_for
from .args import UsageError
from .options import run_options, target_of


def text_mode(args: argparse.Namespace, *, always: bool = False) -> bool:
    """Whether the text stream was asked for; its options without it are an error."""
    if always or getattr(args, "no_tui", False):
        return True
    given = [
        flag
        for flag, value in (
            ("--format", args.format),
            ("--output", args.output),
            ("--continue", args.keep_going),
        )
        if value
    ]
    if given:
        raise UsageError(f"loopstep: {', '.join(given)} go{'es' * (len(given) == 1)} with --no-tui")
    return False


def start(
    args: argparse.Namespace,
    command: str,
    kinds: tuple[Kind, ...],
    *,
    text: bool,
    target: Target | None = None,
) -> int:
    """Run the target the arguments name: the app, or (``text``) the text stream."""
    from ..frontend import run_app, run_stream
    from ..frontend.terminal import check_app_terminal

    target = target or target_of(args)
    check_kind(target, kinds, f"loopstep {command}")
    parse_breaks(args.breaks)
    # Bad input is reported before the terminal is looked at, except that a factory is not
    # called (and torch loaded, seconds) only to learn that there is no terminal for the app.
    if not text and target.kind is Kind.FACTORY:
        check_app_terminal(f"loopstep {command}")
    session = session_for(target, run_options(args, detail=not text, build_now=text))
    if not text:
        return run_app(session, command=f"loopstep {command}")
    return run_stream(
        session,
        fmt=args.format or "text",
        output=args.output,
        keep_going=args.keep_going,
        on_stop=args.on_stop,
    )
