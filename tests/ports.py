"""Ports for the jobs and servers the tests start, safe with tests running side by side.

A port the kernel hands out for ``bind(("", 0))`` is free only until released: another test
process (a pytest-xdist worker), or a rank's gloo connection, may be handed the same port
before the job that was meant to bind it does. So the ports given here lie below the
kernel's ephemeral range, which ``bind(0)`` never hands out, and each worker takes its own
residue class of them: two workers can never pick the same one.
"""

from __future__ import annotations

import itertools
import os
import socket

LOW, HIGH = 20000, 32000  # below Linux's default ephemeral range (32768-60999)


def _worker() -> tuple[int, int]:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return int(name.removeprefix("gw")), max(count, 1)


def _candidates():
    index, count = _worker()
    mine = range(LOW + index, HIGH, count)
    # Start where another run of the suite is unlikely to have just been (a port it left in
    # TIME_WAIT), then go round the whole class.
    start = os.getpid() % len(mine)
    return itertools.chain(mine[start:], mine[:start])


_ports = _candidates()


def free_port() -> int:
    """A port nothing listens on, that no other test process of this run is given."""
    for port in _ports:
        with socket.socket() as sock:
            try:
                sock.bind(("", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {LOW}-{HIGH}")
