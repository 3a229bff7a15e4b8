"""loopstep's own channel between the ranks of a ``torchrun`` job on one machine (a
:class:`~..engine.protocols.RankExchange`): a folder of small JSON files in this user's runs
directory, one per rank and key, each written whole (written aside, then renamed), so a
reader never sees half of one. The user's process group carries nothing of loopstep's.

The folder is named by the job and by the launcher's pid (every local rank's parent), so two
launches of one command line never read each other's files; rank 0 removes it once it has
read the others'. Ranks on other machines cannot reach it: rank 0 compares the ones here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time

from .distributed import RankPlace
from .runs import runs_dir

_POLL_S = 0.05


class FileExchange:
    def __init__(self, place: RankPlace) -> None:
        self.rank = place.rank
        #: The ranks compared: those on rank 0's machine (this folder is that machine's).
        self.world_size = place.ranks_beside_rank_0
        tag = hashlib.sha1(f"{place.job}:{os.getppid()}".encode()).hexdigest()[:16]
        self.folder = os.path.join(runs_dir(), f"job-{tag}.ranks")
        os.makedirs(self.folder, mode=0o700, exist_ok=True)

    def _path(self, key: str, rank: int) -> str:
        return os.path.join(self.folder, f"{key}.{rank}.json")

    def share(self, key: str, value: object) -> None:
        path = self._path(key, self.rank)
        aside = f"{path}.{os.getpid()}.tmp"
        try:
            with open(aside, "w") as handle:
                json.dump(value, handle)
            os.replace(aside, path)
        except FileNotFoundError:
            pass  # rank 0 compared without this rank (it waited long enough) and removed the folder

    def gather(self, key: str, timeout: float) -> dict[int, object]:
        deadline = time.monotonic() + timeout
        found: dict[int, object] = {}
        while True:
            for rank in range(self.world_size):
                if rank not in found:
                    with contextlib.suppress(FileNotFoundError, ValueError):
                        with open(self._path(key, rank)) as handle:
                            found[rank] = json.load(handle)
            if len(found) == self.world_size or time.monotonic() >= deadline:
                return found
            time.sleep(_POLL_S)

    def close(self) -> None:
        """Rank 0 has read what it needed: the folder goes (the others only wrote to it)."""
        if self.rank == 0:
            shutil.rmtree(self.folder, ignore_errors=True)
