"""Where this process stands in a ``torchrun`` job, read from the environment torchrun sets
(RANK, WORLD_SIZE, LOCAL_RANK): one front end per job, not one per rank. Rank 0 owns the
terminal (the app, the text stream); the other ranks run headless, each a listening run of
its own (``loopstep attach PID`` reaches one), their streams left unwritten so that the
terminal shows one stream, not N interleaved.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RankPlace:
    rank: int
    world_size: int
    local_rank: int
    #: Names the job: its ranks find one another's listening runs by it.
    job: str = ""
    #: The ranks on this machine (torchrun's LOCAL_WORLD_SIZE): a job may span several.
    local_world_size: int = 0

    @property
    def beside_rank_0(self) -> bool:
        """Whether this rank runs on rank 0's machine: those ranks step with rank 0 (they are
        found through this user's runs directory there); a rank on another machine runs on
        by itself, a listening run that ``loopstep attach`` reaches on that machine."""
        return self.rank - self.local_rank == 0

    @property
    def ranks_beside_rank_0(self) -> int:
        """How many ranks (rank 0 among them) run on rank 0's machine."""
        return min(self.local_world_size or self.world_size, self.world_size)

    @property
    def owns_terminal(self) -> bool:
        return self.rank == 0

    def own_recording(self, path: str) -> str:
        """Where this rank records when ``--record PATH`` is given to every rank: rank 0 to
        PATH itself, rank N to PATH with ``.rankN`` before its extension (``run.rank1.lsr``),
        so that no two ranks write one file."""
        if self.rank == 0:
            return path
        root, extension = os.path.splitext(path)
        return f"{root}.rank{self.rank}{extension}"

    def fields(self) -> dict[str, int]:
        """What each JSONL record of the job carries."""
        return {"rank": self.rank, "world_size": self.world_size}


def torchrun_place() -> RankPlace | None:
    """This process's rank in a job of several, or None (a single process)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
        here = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    except ValueError:
        return None
    if world <= 1:
        return None
    env = os.environ
    job = ":".join(env.get(k, "") for k in ("MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID"))
    return RankPlace(rank, world, local, job, here)
