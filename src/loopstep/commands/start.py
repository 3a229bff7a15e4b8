"""Open a target in the app or print its phases: what demo, trace, run and replay share."""

from __future__ import annotations

import argparse
import sys

from ..frontend.distributed import torchrun_place
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
    listen = getattr(args, "listen", None)
    on_stop = _on_stop(args, listen=bool(listen), text=text)
    tcp = _tcp_address(args, listen)
    if listen:
        from ..frontend.listen import run_listening

        session = session_for(target, run_options(args, detail=False, build_now=True))
        script = " ".join([target.spec, *target.args]).strip()
        return run_listening(session, on_stop=on_stop, script=script, tcp=tcp)
    place = torchrun_place()
    if place is not None and not place.beside_rank_0:
        # On another machine than rank 0: no runs directory in common. It runs on by itself,
        # listening: loopstep attach reaches it on its own machine.
        from ..frontend.listen import run_listening

        session = session_for(target, run_options(args, detail=False, build_now=True))
        script = " ".join([target.spec, *target.args]).strip()
        sys.stderr.write(
            f"loopstep: rank {place.rank} runs on another machine than rank 0: it does not step "
            "with rank 0's front end\n"
        )
        return run_listening(session, on_stop="continue", script=f"{script} (rank {place.rank})")
    if place is not None and not place.owns_terminal:
        # Rank 0 owns the terminal and steps this rank with its own (frontend/lockstep.py).
        from ..frontend.listen import run_listening

        # As much detail as rank 0's: its app shows this rank's pauses too (R), trace and all.
        session = session_for(target, run_options(args, detail=not text, build_now=True))
        # Its own stop conditions stay armed: one that fires on its data stops the job there.
        script = " ".join([target.spec, *target.args]).strip()
        return run_listening(
            session, on_stop="continue", script=f"{script} (rank {place.rank})", rank=(place.job, place.rank)
        )
    # Bad input is reported before the terminal is looked at, except that a factory is not
    # called (and torch loaded, seconds) only to learn that there is no terminal for the app.
    if not text and target.kind is Kind.FACTORY:
        check_app_terminal(f"loopstep {command}")
    session = session_for(target, run_options(args, detail=not text, build_now=text))
    if place is not None:
        from ..frontend.lockstep import JobRanks

        session.aligner = JobRanks(place)  # the status line says the rank shown (R shows the next)
    if not text:
        return run_app(session, command=f"loopstep {command}")
    return run_stream(
        session,
        fmt=args.format or "text",
        output=args.output,
        keep_going=args.keep_going,
        on_stop=on_stop,
    )


def _tcp_address(args: argparse.Namespace, listen):
    """--listen tcp:HOST:PORT as allowed: a non-loopback address only when asked for, warned of."""
    non_loopback = getattr(args, "listen_non_loopback", False)
    if listen is None or listen == "unix":
        if non_loopback:
            raise UsageError("loopstep: --listen-non-loopback goes with --listen tcp:HOST:PORT")
        return None
    if not listen.loopback:
        if not non_loopback:
            raise UsageError(
                f"loopstep: {listen} can be reached from other machines: add --listen-non-loopback "
                "to mean it (or listen on 127.0.0.1 and use an SSH tunnel)"
            )
        sys.stderr.write(
            f"loopstep: warning: {listen} is reachable from other machines, unencrypted; whoever "
            "has the token can step this run and evaluate expressions in it\n"
        )
    return listen


def _on_stop(args: argparse.Namespace, *, listen: bool, text: bool) -> str:
    """--on-stop as the mode allows it: stop|continue for a text stream, wait|continue listening."""
    on_stop = getattr(args, "on_stop", None)
    if listen:
        if text:
            raise UsageError(
                "loopstep: --listen runs without a screen: --no-tui and its options do not go with it"
            )
        if on_stop == "stop":
            raise UsageError("loopstep: with --listen, --on-stop is wait (for an attach) or continue")
        return on_stop or "wait"
    if on_stop == "wait":
        raise UsageError("loopstep: --on-stop wait goes with --listen (it waits for loopstep attach)")
    return on_stop or "stop"
