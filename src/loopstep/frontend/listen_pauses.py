"""What a listening run does at each pause (the training thread's side of
:class:`~.listen.Listening`, as a mixin): send the pause to the client attached, wait for one
(a stop condition, ``--on-stop wait``), or go on at once when nobody is looking.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from typing import Any

from ..engine.control import REFUSED, Command
from ..engine.lockstep import LOCKSTEP
from ..engine.remote_protocol import STEPPING_REASONS, encode
from ..engine.snapshot import Snapshot
from ..engine.text_format import text_line
from ..engine.watches import Watches
from .runs import RunState
from .snapshot_wire import pause_payload


class ListeningPauses:
    stepper: Any
    app: Any
    on_stop: str
    pid: int
    state: RunState
    watches: Watches
    last_reason: str
    _lock: threading.Lock
    _client: socket.socket | None
    _client_ready: bool
    _client_tui: bool
    _client_snapshots: bool
    _paused: bytes | None

    def _note(self, **changes) -> None: ...

    # ----- the training thread's side ---------------------------------------------------------
    def at_pause(self, snapshot: Snapshot, reason: str) -> None:
        """The stepper paused (training thread): send it to the client, wait for one, or go on."""
        stepper = self.stepper
        event = snapshot.event
        where = (
            f"paused at {event.phase.value} iter {event.iteration}"
            if event is not None
            else "paused at start"
        )
        self.last_reason = reason
        app = self.app
        if app is not None:
            self._note(state=where)
            app.paused_from_run(snapshot, reason)
            return
        with self._lock:
            client = self._client
        # A torchrun job's other rank runs through its start (rank 0 needs it in the collectives
        # of init_process_group and DDP) and waits at its first phase for rank 0.
        if reason == "start" and self.state.rank > 0 and client is None:
            stepper.pause_at_seq(1)
            stepper.send(Command.CONTINUE)
            return
        for_rank_0 = reason == LOCKSTEP and self.state.rank > 0
        condition = reason not in STEPPING_REASONS or for_rank_0
        wait = self.on_stop == "wait" or for_rank_0
        if client is None and not condition:
            stepper.send(Command.CONTINUE)  # nobody is looking: full speed
            return
        if reason.startswith(REFUSED):
            sys.stderr.write(f"loopstep: --break: {reason.removeprefix(REFUSED)}\n")
        if client is not None and self._client_tui:
            self._note(state=where)  # the app, opening, shows this pause: nothing crosses as JSON
            return
        message = self._pause_message(snapshot, reason)
        with self._lock:
            client = self._client if self._client_ready else None
            self._paused = message if self._client is not None or wait else None
            attaching = self._client is not None and not self._client_ready
        if attaching:
            self._note(state=where)  # sent once the hello is: see _serve
            return
        if client is None:
            if for_rank_0:
                self._note(state=f"{where}, waiting for rank 0")
                return
            if not wait:
                sys.stderr.write(
                    f"loopstep: stop condition at iteration {event.iteration if event else 0}: {reason}\n"
                )
                stepper.send(Command.CONTINUE)
                return
            sys.stderr.write(
                f"loopstep: stopped ({reason}); {where}: waiting for loopstep attach {self.pid}\n"
            )
            sys.stderr.flush()
            self._note(state=f"{where}, waiting for an attach ({reason})")
            return
        self._note(state=where)
        try:
            client.sendall(message)
        except OSError:
            pass  # gone: _gone decides what happens to the pause

    def _pause_message(self, snapshot: Snapshot, reason: str) -> bytes:
        watches = self.watches.evaluate_at(self.stepper)
        record = snapshot.to_json()
        whole = {"snapshot": pause_payload(snapshot, watches)} if self._client_snapshots else {}
        return encode(
            "pause",
            seq=self.stepper.seq,
            record=record,
            text=text_line(snapshot),
            reason=reason,
            watch={w.expression: (None if w.answer is None else w.answer.to_json()) for w in watches},
            **whole,
        )

    def at_finish(self, status_text: str, snapshot: Snapshot | None = None) -> None:
        app = self.app
        if app is not None:
            app.finished_from_run(snapshot)
        with self._lock:
            client = self._client
        if client is not None:
            with contextlib.suppress(OSError):
                client.sendall(encode("finished", status=status_text))
