"""The protocol between a run that listens (``loopstep run --listen``) and the front end that
attaches to it (``loopstep attach``): one JSON object per line, over a Unix socket.

Every message is ``{"type": ..., ...}``. The first line each way is a hello that names the
protocol version; a peer of another version gets one error line and the connection closes.
A pause carries the same record the JSONL stream prints (``Snapshot.to_json``), its text
line and the watches' values, so an attached front end, the text stream and a recording
describe a pause alike. Nothing received is ever run as code, except the expressions an
attached user of the same uid typed (``evaluate``), in the training thread, read-only.

Client → run: ``hello``, ``command`` (``step``/``next``/``epoch``/``continue``/``run``,
``n``), ``detach``, ``end`` (end the run), ``settings`` (``zero_grad``, ``lr``), ``watches``
(``expressions``), ``evaluate`` (``id``, ``text``; ``ask``: evaluate, where or complete;
``statements``). Run → client: ``hello`` (pid, script, state), ``pause`` (``record``,
``text``, ``reason``, ``watch``), ``answer`` (``id``, ``value`` or ``error``; to rank 0 of
a job, ``whole``: the answer itself, see ``frontend/snapshot_wire.py``), ``finished``
(``status``), ``error`` (``message``).
"""

from __future__ import annotations

import json
from typing import Any

#: Bumped whenever a message changes meaning; both sides must speak the same one.
PROTOCOL = 1
#: The longest line either side accepts (a pause of a big model is a few hundred KB).
MAX_LINE = 16 * 1024 * 1024

CLIENT_MESSAGES = frozenset(
    {"hello", "command", "detach", "end", "settings", "watches", "evaluate", "pause_at", "where"}
)
RUN_MESSAGES = frozenset({"hello", "pause", "answer", "finished", "error", "running", "position"})


#: Pause reasons that come from stepping, not from a stop condition (a record says the latter).
STEPPING_REASONS = frozenset(
    {"start", "step", "paused", "next", "epoch", "run", "stepped back", "finished", "lockstep"}
)


class ProtocolError(Exception):
    """A line that is not this protocol, or a peer that speaks another version."""


def encode(kind: str, **fields: Any) -> bytes:
    return json.dumps({"type": kind, **fields}, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def decode(line: bytes, allowed: frozenset[str]) -> dict:
    try:
        message = json.loads(line)
    except ValueError:
        raise ProtocolError("not a loopstep message (bad JSON)") from None
    if not isinstance(message, dict) or message.get("type") not in allowed:
        raise ProtocolError(f"unexpected message {str(message)[:80]!r}")
    return message


def check_hello(message: dict, who: str) -> None:
    """The peer's hello, or ProtocolError with the one line to show."""
    if message.get("type") != "hello":
        raise ProtocolError(f"{who} did not start with a hello")
    version = message.get("protocol")
    if version != PROTOCOL:
        raise ProtocolError(
            f"{who} speaks loopstep protocol {version}, this loopstep speaks {PROTOCOL}: "
            "attach with the loopstep version that started the run"
        )
