"""Where a listening run can be reached: always its Unix socket in the user's runs directory
(only this user: 0700, 0600, SO_PEERCRED), and, when asked (``--listen tcp:HOST:PORT``), a
TCP port that takes only a client with the run's token.

The token is random, printed once on the run's stderr and kept nowhere else: a TCP client
must give it in its hello (``loopstep attach tcp:HOST:PORT --token T``, or
``LOOPSTEP_TOKEN``). A non-loopback address reaches other machines, in clear text, and a
client with the token may evaluate expressions in the training process: loopstep refuses
one unless told ``--listen-non-loopback``, and warns when told.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import os
import secrets
import socket
import struct
from dataclasses import dataclass

#: A hello from a TCP client that has not yet shown its token is read up to this many bytes.
UNAUTHENTICATED_LINE = 64 * 1024


@dataclass(frozen=True)
class TcpAddress:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp:{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """Whether only this machine reaches ``host`` (a host name may resolve anywhere: no)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tcp_address(text: str) -> TcpAddress:
    """``tcp:HOST:PORT`` (PORT 0: any free port); ArgumentTypeError otherwise."""
    if not text.startswith("tcp:"):
        raise argparse.ArgumentTypeError(f"expected tcp:HOST:PORT, got {text!r}")
    host, colon, port = text[4:].rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected tcp:HOST:PORT (e.g. tcp:127.0.0.1:7000), got {text!r}")
    return TcpAddress(host, int(port))


def listen_address(text: str) -> TcpAddress | str:
    """What ``--listen`` takes: nothing (the Unix socket alone) or a TCP address as well."""
    return "unix" if text == "unix" else tcp_address(text)


def claims_address(text: str) -> bool:
    """Whether the token after ``--listen`` is meant as its address (a bad one is then an error)."""
    return text == "unix" or text.startswith("tcp:")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_matches(given: object, token: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode())


def tcp_server(address: TcpAddress) -> socket.socket:
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address.host, address.port))
    server.listen(4)
    return server


def bound_address(server: socket.socket, asked: TcpAddress) -> TcpAddress:
    """The address as bound (port 0 asked: the port the system chose)."""
    return TcpAddress(asked.host, server.getsockname()[1])


def peer_uid(connection: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (Linux's SO_PEERCRED)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid


def same_user(connection: socket.socket) -> bool:
    return peer_uid(connection) == os.getuid()


def connect(target: TcpAddress | str) -> socket.socket:
    """A connected socket to a run's Unix socket path or TCP address (OSError if not)."""
    if isinstance(target, TcpAddress):
        client = socket.create_connection((target.host, target.port), timeout=30)
        client.settimeout(None)  # connected: from here on a pause may be minutes away
        return client
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(target)
    return client
