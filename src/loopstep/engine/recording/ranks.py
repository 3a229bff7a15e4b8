"""A replay of a torchrun job's recordings, every rank in step: ``loopstep replay run.lsr``
where rank 0 recorded ``run.lsr`` and rank N ``run.rankN.lsr`` (the names ``--record`` gives
them under torchrun).

Rank 0's recording is replayed by the stepper the front end drives; each other rank's by a
stepper of its own (:mod:`..ranks_in_step`), so the app's per-rank view, the chart of every
rank's loss, the watches, the prompt and the text stream's rank column work on a replay as
on the live job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import partial

from ..ranks_in_step import SteppedRanks
from .reader import Recording
from .replay import replay_session


def rank_recordings(path: str) -> dict[int, str]:
    """The other ranks' recordings beside rank 0's ``path`` that exist: rank -> path."""
    root, extension = os.path.splitext(path)
    folder = os.path.dirname(path) or "."
    pattern = re.compile(re.escape(os.path.basename(root)) + r"\.rank(\d+)" + re.escape(extension) + "$")
    found = {}
    for name in os.listdir(folder):
        match = pattern.match(name)
        if match and int(match.group(1)) > 0:
            found[int(match.group(1))] = os.path.join(folder, name)
    return dict(sorted(found.items()))


def replayed_job(path: str, recording: Recording, read: Callable[[str], Recording]) -> SteppedRanks | None:
    """The other ranks of the job whose rank 0 recorded ``recording`` to ``path``, each
    recording read with ``read``; None for a single process's recording (or another rank's)."""
    if int(recording.header.get("rank") or 0) != 0:
        return None
    found = rank_recordings(path)
    if not found:
        return None
    world_size = max(int(recording.header.get("world_size") or 0), max(found) + 1)
    recordings = {rank: read(other) for rank, other in found.items()}
    return SteppedRanks({rank: partial(replay_session, one) for rank, one in recordings.items()}, world_size)
