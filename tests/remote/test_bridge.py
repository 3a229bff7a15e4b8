"""The bridge between an attached app's pseudo-terminal and its client: however the client
goes away, the app is told it is gone (else it would wait on a terminal nobody reads)."""

from __future__ import annotations

import os
import socket
import struct
import threading

import pytest

from loopstep.frontend.attach_app import Bridge


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def bridged(run_side: socket.socket, master: int) -> threading.Event:
    gone = threading.Event()
    bridge = Bridge(run_side, run_side.makefile("rb"), master, on_gone=gone.set)
    threading.Thread(target=bridge._from_client, daemon=True).start()
    return gone


def test_a_client_that_closes_is_gone(pty_pair):
    client, run_side = socket.socketpair()
    gone = bridged(run_side, pty_pair[0])
    client.close()
    assert gone.wait(10)


def test_a_client_killed_with_the_screen_unread_resets_the_connection_and_is_gone(pty_pair):
    """What a kill -9 of ``loopstep attach`` does while the app draws: the run's next read
    raises ECONNRESET instead of reading an end of file."""
    client, run_side = socket.socketpair()
    run_side.sendall(b"\x1b[2J a screen the client never read")
    gone = bridged(run_side, pty_pair[0])
    client.close()
    assert gone.wait(10)


def test_a_client_cut_in_the_middle_of_a_frame_is_gone(pty_pair):
    client, run_side = socket.socketpair()
    gone = bridged(run_side, pty_pair[0])
    client.sendall(b"D" + struct.pack("!I", 100)[:2])
    client.close()
    assert gone.wait(10)


def test_keys_reach_the_terminal_while_the_client_is_there(pty_pair):
    master, slave = pty_pair
    client, run_side = socket.socketpair()
    gone = bridged(run_side, master)
    client.sendall(b"D" + struct.pack("!I", 2) + b"s\n")
    assert os.read(slave, 100).startswith(b"s")
    assert not gone.is_set()
    client.close()
    assert gone.wait(10)
