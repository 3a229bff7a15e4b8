"""``loopstep run --listen``: the run goes at full speed with its stop conditions armed, and a
front end may attach to it (``loopstep attach``), step it, and detach again.

The training thread's stepper is the one a local app would drive; this front end only turns
the client's messages into the stepper's commands (``send``, ``ask``, ``change_settings``)
and each pause into a message. Nobody attached: every pause but a stop condition's goes on
at once; a stop condition's waits for an attach (``--on-stop wait``) or goes on. A client
that goes away without a detach leaves the run where it was: paused, for the next attach.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import sys
import threading
import time
from concurrent.futures import Future

from ..engine.control import Command, Listener
from ..engine.expressions import QUESTION_KINDS, Answer, FrameQuestion, answer_in_frame
from ..engine.remote_protocol import (
    CLIENT_MESSAGES,
    MAX_LINE,
    PROTOCOL,
    ProtocolError,
    check_hello,
    decode,
    encode,
)
from ..engine.session import Session
from ..engine.stepper import RunState as StepperState
from ..engine.watches import Watches
from .addresses import (
    UNAUTHENTICATED_LINE,
    TcpAddress,
    bound_address,
    new_token,
    same_user,
    tcp_server,
    token_matches,
)
from .listen_pauses import ListeningPauses
from .runner import run_headless
from .runs import RunState, remove_state, socket_path, write_state
from .snapshot_wire import packed

#: How long a front end that has just detached gets to be gone before another is refused.
LEAVING_S = 2.0
_COMMANDS = {c.value: c for c in (Command.STEP, Command.NEXT, Command.EPOCH, Command.CONTINUE, Command.RUN)}


def _pretty(value) -> str:
    from rich.pretty import pretty_repr

    return pretty_repr(value, max_width=100)


class Listening(ListeningPauses):
    """The listening end of one run: its socket, the client attached (one at a time), and
    the stepper's pauses sent to it."""

    def __init__(
        self, session: Session, *, on_stop: str = "wait", script: str = "", tcp: TcpAddress | None = None
    ) -> None:
        self.session = session
        #: The TCP address asked for, as bound once open; its clients must give the token.
        self.tcp = tcp
        self.token = new_token() if tcp is not None else ""
        self.on_stop = on_stop
        self.watches = Watches(session.watches)
        self.pid = os.getpid()
        self.path = socket_path(self.pid)
        self.state = RunState(self.pid, script or session.title, self.path, time.time(), since=time.time())
        self.stepper = None
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        #: Told when the attached front end is gone (detached, closed, its app ended).
        self._client_left = threading.Condition(self._lock)
        self._paused: bytes | None = None  # the pause message of the pause the run is in
        self._server: socket.socket | None = None
        #: The client's hello is answered (pauses may cross), and whether it wants the app.
        self._client_ready = False
        self._client_tui = False
        self._client_snapshots = False
        self._tcp_server: socket.socket | None = None
        #: The attached app (loopstep attach without --no-tui), while one is open.
        self.app = None
        #: Why the run paused last (an attached app shows it).
        self.last_reason = ""
        #: Attaches that want the app: the main thread opens it (Textual runs there only).
        self._apps: queue.Queue = queue.Queue()

    # ----- the socket ---------------------------------------------------------------------------
    def open(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is born 0600: no window where others could connect
        try:
            server.bind(self.path)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        server.listen(4)
        self._server = server
        threading.Thread(
            target=self._accept, args=(server, False), name="loopstep-listen", daemon=True
        ).start()
        where = (
            f"loopstep: listening on {self.path} (pid {self.pid}); attach with: loopstep attach {self.pid}"
            if self.state.rank <= 0  # a single process (-1), or rank 0 of a job
            else f"loopstep: rank {self.state.rank} listening on {self.path} (pid {self.pid}), for rank 0"
        )
        if self.tcp is not None:
            self._tcp_server = tcp_server(self.tcp)
            self.tcp = bound_address(self._tcp_server, self.tcp)
            self.state.tcp = str(self.tcp)
            threading.Thread(
                target=self._accept, args=(self._tcp_server, True), name="loopstep-listen-tcp", daemon=True
            ).start()
            reach = self.tcp if self.tcp.loopback else TcpAddress(socket.gethostname(), self.tcp.port)
            where += f"\nloopstep: and on {self.tcp}: loopstep attach {reach} --token {self.token}"
        write_state(self.state)
        sys.stderr.write(where + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        for server in (self._server, self._tcp_server):
            if server is not None:
                server.close()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()
        remove_state(self.pid)

    def _accept(self, server: socket.socket, tcp: bool) -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return  # closed: the run is over
            threading.Thread(
                target=self._serve, args=(connection, tcp), daemon=True, name="loopstep-client"
            ).start()

    def _serve(self, connection: socket.socket, tcp: bool = False) -> None:
        stream = connection.makefile("rb")
        try:
            trusted = not tcp and same_user(connection)
            try:  # read before any refusal: a client's hello always gets there, then the answer
                hello = decode(
                    stream.readline(MAX_LINE if trusted else UNAUTHENTICATED_LINE), CLIENT_MESSAGES
                )
                if not tcp and not trusted:
                    raise ProtocolError("this run belongs to another user")
                check_hello(hello, "loopstep attach")
            except ProtocolError as exc:
                connection.sendall(encode("error", message=str(exc)))
                return
            if tcp and not token_matches(hello.get("token"), self.token):
                connection.sendall(
                    encode("error", message="wrong token (the run printed it when it started)")
                )
                return
            with self._lock:
                # One that has just detached may still have its detach (or its close) on the
                # way: it gets a moment to be gone before this one is refused.
                self._client_left.wait_for(lambda: self._client is None, timeout=LEAVING_S)
                if self._client is not None:
                    connection.sendall(
                        encode("error", message=f"run {self.pid} already has a front end attached")
                    )
                    return
                self._client = connection
                self._client_ready = False  # no pause crosses before the hello
                self._client_tui = bool(hello.get("tui"))
                # Rank 0 of the job wants whole snapshots: only ever over this user's own socket.
                self._client_snapshots = bool(hello.get("snapshots")) and not tcp
                waiting = self._paused is not None
            stepper = self.stepper
            if stepper is not None:
                if not waiting and not hello.get("no_pause"):
                    stepper.request_pause()  # asked before the run wakes: it pauses where it wakes
                stepper.set_unwatched(False)
            connection.sendall(encode("hello", protocol=PROTOCOL, pid=self.pid, script=self.state.script,
                                      state=self.state.state))  # fmt: skip
            self._note(attached=True)
            if self._client_tui:
                done = threading.Event()
                self._apps.put((connection, stream, hello, done))
                done.wait()  # the main thread runs the app until it detaches or the client goes
                return
            with self._lock:
                self._client_ready = True
                paused = self._paused
            if paused is not None:
                connection.sendall(paused)  # the pause the run waits in for this attach
            self._read(stream, connection)
        except OSError:
            pass
        finally:
            self._gone(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def _read(self, stream, connection: socket.socket) -> None:
        stepper = self.stepper
        while True:
            line = stream.readline(MAX_LINE)
            if not line:
                return  # the client went away: a detach that leaves the run where it is
            message = decode(line, CLIENT_MESSAGES)
            kind = message["type"]
            if kind == "command" and message.get("command") in _COMMANDS:
                self._resume(connection, _COMMANDS[message["command"]], int(message.get("n", 0)))
            elif kind == "detach":
                self._detach(connection)
                return
            elif kind == "end":
                stepper.quit("ended by the attached front end")
            elif kind == "settings":
                stepper.change_settings(zero_grad=message.get("zero_grad"), lr=message.get("lr"))
            elif kind == "watches":
                for old in self.watches.expressions:
                    self.watches.remove(old)
                for text in message.get("expressions", []):
                    with contextlib.suppress(ValueError):
                        self.watches.add(text)
            elif kind == "evaluate":
                self._evaluate(connection, message)
            elif kind == "pause_at":  # rank 0 of the job: be at this phase with it
                target = int(message["seq"])
                with self._lock:
                    paused = self._paused
                if paused is not None and stepper.seq >= target:
                    connection.sendall(paused)  # there already (or past it: rank 0 comes on)
                else:
                    stepper.pause_at_seq(target)
                    if paused is not None:
                        self._resume(connection, Command.CONTINUE, 0)  # behind: run on to it
            elif kind == "where":
                seq, held = stepper.seq, stepper.at_boundary  # in this order: see at_boundary
                with self._lock:
                    paused = self._paused is not None
                connection.sendall(encode("position", seq=seq, paused=paused, held=held))

    def _resume(self, connection: socket.socket, command: Command, n: int) -> None:
        with self._lock:
            if self._client is not connection:
                return
            if self._paused is None:
                # Not paused: nothing to resume (a key pressed twice); for rank 0 of a job, it
                # went on without this rank in step: this rank goes on too, no pause pending.
                self.stepper.cancel_pause_at()
                return
            self._paused = None
        self.stepper.send(command, n)

    def _evaluate(self, connection: socket.socket, message: dict) -> None:
        """A question of the client's prompt (``ask``: evaluate, where, complete), answered by
        the training thread. Rank 0 of the job gets the whole answer (the tensor summary its
        prompt draws); any other client the answer's JSON."""
        ident, kind = message.get("id"), str(message.get("ask", "evaluate"))
        question = FrameQuestion(kind, str(message.get("text", "")), bool(message.get("statements")))
        with self._lock:
            whole = self._client_snapshots and self._client is connection
        stepper = self.stepper
        if kind not in QUESTION_KINDS:
            connection.sendall(encode("answer", id=ident, error=f"no such question: {kind}"))
            return
        pretty = _pretty if whole else None  # as rank 0's own prompt draws a value
        future: Future = stepper.ask(lambda: answer_in_frame(stepper.training_frame(), question, pretty))

        def done(answer: Future) -> None:
            try:
                result = answer.result()
                if whole:
                    reply = encode("answer", id=ident, whole=packed(result))
                elif isinstance(result, Answer):
                    reply = encode("answer", id=ident, value=result.to_json(), line=result.line())
                else:
                    reply = encode("answer", id=ident, value=result)
            except Exception as exc:  # noqa: BLE001 - no frame: said to the client
                reply = encode("answer", id=ident, error=str(exc) or type(exc).__name__)
            with contextlib.suppress(OSError):
                connection.sendall(reply)

        future.add_done_callback(done)

    def _detach(self, connection: socket.socket) -> None:
        """``d``: the run carries on at full speed, its conditions still armed."""
        with self._lock:
            if self._client is not connection:
                return
            self._client = None
            self._client_left.notify_all()
            paused, self._paused = self._paused, None
        self.stepper.set_unwatched(True)
        self._note(attached=False, state="running")
        if paused is not None:
            self.stepper.send(Command.CONTINUE)

    def _gone(self, connection: socket.socket) -> None:
        """The client went away without a detach: the run stays paused where it was (or,
        with --on-stop continue, goes on)."""
        with self._lock:
            if self._client is not connection:
                return
            self._client = None
            self._client_left.notify_all()
            paused = self._paused
            if paused is not None and self.on_stop == "continue":
                self._paused = None
        self.stepper.set_unwatched(True)
        self._note(attached=False)
        if paused is not None and self.on_stop == "continue":
            self.stepper.send(Command.CONTINUE)

    def open_waiting_app(self) -> None:
        """In the main thread, a few times a second: open the app an attach asked for."""
        from .attach_app import run_attached_app

        try:
            connection, stream, hello, done = self._apps.get_nowait()
        except queue.Empty:
            return
        stepper = self.stepper
        try:
            choice = run_attached_app(self, connection, stream, hello)
        finally:
            with self._lock:
                self._client = None
                self._client_left.notify_all()
            stepper.set_unwatched(True)
            done.set()
        paused = stepper.state is StepperState.PAUSED
        if choice == "detach" or (choice is None and self.on_stop == "continue"):
            self._note(attached=False, state="running")
            if paused:
                stepper.send(Command.CONTINUE)
        else:
            self._note(attached=False)  # gone without a word: paused where it was, for the next attach

    def _note(self, **changes) -> None:
        for key, value in changes.items():
            setattr(self.state, key, value)
        self.state.since = time.time()
        with contextlib.suppress(OSError):
            write_state(self.state)


def run_listening(
    session: Session,
    *,
    on_stop: str = "wait",
    script: str = "",
    tcp: TcpAddress | None = None,
    rank: tuple[str, int] | None = None,
) -> int:
    """Run the session headless, listening for ``loopstep attach``; the exit status as for a
    run. ``rank``: (job, rank) of a torchrun job's rank, which rank 0 finds and steps."""
    listening = Listening(session, on_stop=on_stop, script=script, tcp=tcp)
    if rank is not None:
        listening.state.job, listening.state.rank = rank
    stepper = session.new_stepper(
        Listener(
            on_pause=listening.at_pause,
            on_finish=lambda snapshot: listening.at_finish("finished", snapshot),
            on_error=lambda error, snapshot: (
                listening.app is not None and listening.app.failed_from_run(error, snapshot)
            ),
        ),
        pause_at_start=True,
        history=0,
    )
    listening.stepper = stepper
    if rank is not None:
        from .lockstep import FollowerGate

        stepper.gate = FollowerGate(rank[0], rank[1])  # goes past a phase once rank 0 has
    stepper.set_unwatched(True)
    listening.open()
    try:
        status = run_headless(stepper, between=listening.open_waiting_app)
    finally:
        if stepper.error is not None:
            listening.at_finish("failed")
        listening.close()
    return status
