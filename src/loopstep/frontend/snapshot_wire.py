"""Whole objects of the engine in a message between the ranks of one job: a pause's
:class:`~..engine.snapshot.Snapshot` (and the watches' values), for rank 0's view of another
rank, where every pane draws that rank's own numbers, and the prompt's answers there.

Pickled: both ends are ranks of one launch (the same loopstep, the same classes), and it only
ever crosses this user's own Unix sockets (in a 0700 folder, the peer's uid checked), never a
TCP connection, so nothing another user could send is ever unpickled.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from ..engine.lockstep import RankPause
from ..engine.snapshot import Snapshot
from ..engine.watches import WatchValue


def packed(value: Any) -> str:
    return base64.b64encode(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def unpacked(payload: str, default: Any = None) -> Any:
    """What :func:`packed` packed, or ``default`` when it cannot be read back."""
    try:
        return pickle.loads(base64.b64decode(payload))  # noqa: S301 - see the module's docstring
    except Exception:  # noqa: BLE001 - a view of another rank is not worth a crash
        return default


def pause_payload(snapshot: Snapshot, watches: list[WatchValue]) -> str:
    return packed(RankPause(snapshot, tuple(watches)))


def pause_of(payload: str) -> RankPause | None:
    """The pause a payload holds, or None when it cannot be read back."""
    whole = unpacked(payload)
    return whole if isinstance(whole, RankPause) and isinstance(whole.snapshot, Snapshot) else None
