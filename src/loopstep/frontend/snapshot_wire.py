"""A whole :class:`~..engine.snapshot.Snapshot` in a pause message, for rank 0's view of
another rank of its job: every pane draws that rank's own numbers, as they are there.

Pickled: both ends are ranks of one launch (the same loopstep, the same classes), and it only
ever crosses this user's own Unix sockets (in a 0700 folder, the peer's uid checked), never a
TCP connection, so nothing another user could send is ever unpickled.
"""

from __future__ import annotations

import base64
import pickle

from ..engine.snapshot import Snapshot


def snapshot_payload(snapshot: Snapshot) -> str:
    return base64.b64encode(pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def snapshot_of(payload: str) -> Snapshot | None:
    """The snapshot a payload holds, or None when it cannot be read back."""
    try:
        snapshot = pickle.loads(base64.b64decode(payload))  # noqa: S301 - see the module's docstring
    except Exception:  # noqa: BLE001 - a view of another rank is not worth a crash
        return None
    return snapshot if isinstance(snapshot, Snapshot) else None
