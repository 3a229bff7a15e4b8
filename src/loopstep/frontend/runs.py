"""Where listening runs are found: one directory per user, readable by that user only.

Each run puts its socket (``PID.sock``, 0600) and a small state file (``PID.json``: script,
state, phase, iteration, attached or not, since when) there; ``loopstep ls`` reads the state
files and drops those of processes that are gone.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from dataclasses import asdict, dataclass


class RunsDirError(Exception):
    """The runs directory is not safe to use (another user's, or open to others)."""


def runs_dir() -> str:
    """``$XDG_RUNTIME_DIR/loopstep`` (or ``/tmp/loopstep-UID``), made 0700 and checked to be
    this user's and closed to others: no other user on a shared box can reach a run."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = (
        os.path.join(base, "loopstep")
        if base
        else os.path.join(tempfile.gettempdir(), f"loopstep-{os.getuid()}")
    )
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise RunsDirError(f"{path} is not a directory of this user's: refusing to use it")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


@dataclass
class RunState:
    pid: int
    script: str
    socket: str
    started: float
    state: str = "running"  # running · paused at PHASE iter N · waiting for an attach
    attached: bool = False
    since: float = 0.0
    #: The TCP address it also listens on ("" for none); its token is not kept here.
    tcp: str = ""
    #: A rank of a torchrun job (its job's name and its rank; "" and -1 for a single process).
    job: str = ""
    rank: int = -1

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.since or self.started))
        who = "attached" if self.attached else "not attached"
        also = f", also on {self.tcp}" if self.tcp else ""
        return f"{self.pid:>7}  {self.script}  {self.state}  ({who}, since {when}{also})"


def state_path(pid: int) -> str:
    return os.path.join(runs_dir(), f"{pid}.json")


def socket_path(pid: int) -> str:
    return os.path.join(runs_dir(), f"{pid}.sock")


def write_state(run: RunState) -> None:
    """Replace the state file in one rename, so ``ls`` never reads half of one."""
    path = state_path(run.pid)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(asdict(run), handle)
    os.replace(temporary, path)


def remove_state(pid: int) -> None:
    for path in (state_path(pid), socket_path(pid)):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_runs() -> list[RunState]:
    """The listening runs of this user, oldest first; files of runs that are gone are removed."""
    found = []
    folder = runs_dir()
    for name in os.listdir(folder):
        if not name.endswith(".json") or not name[:-5].isdigit():
            continue
        pid = int(name[:-5])
        if not _alive(pid):
            remove_state(pid)
            continue
        try:
            with open(os.path.join(folder, name)) as handle:
                found.append(RunState(**json.load(handle)))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(found, key=lambda run: run.started)
