"""When loopstep itself fails: a crash report in a file, one line pointing at it, exit 70.

A failure of loopstep (not of the training code, which the app shows and text mode prints)
must never look like success. The report holds what a bug report needs: the versions, the
command line and the traceback; the terminal gets one line saying where it is.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback

from .exits import EXIT_SOFTWARE


def crash_folder() -> str:
    """``$XDG_STATE_HOME/loopstep/crashes`` (``~/.local/state/...``), else the temp folder."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "loopstep", "crashes")


def write_crash_report(exc: BaseException | None = None, *, text: str = "", context: str = "") -> str:
    """Write the report and return its path (in the temp folder if the usual one is not writable)."""
    from ..version import __version__

    details = text
    if not details and exc is not None:
        details = "".join(traceback.format_exception(exc))
    body = [
        f"loopstep {__version__} crash report, {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"python {sys.version.split()[0]} on {platform.platform()}",
        f"command: {' '.join(sys.argv)}",
    ]
    if context:
        body.append(f"while: {context}")
    body += ["", details.rstrip(), ""]
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    for folder in (crash_folder(), tempfile.gettempdir()):
        try:
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write("\n".join(body))
            return path
        except OSError:
            continue
    return ""


def report_crash(exc: BaseException | None = None, *, text: str = "", context: str = "") -> int:
    """Write the report, print the one line that points at it, and return EX_SOFTWARE."""
    path = write_crash_report(exc, text=text, context=context)
    summary = f"{type(exc).__name__}: {exc}" if exc is not None else (text.strip().splitlines() or ["?"])[-1]
    where = f"; report: {path}" if path else ""
    try:
        sys.stderr.write(f"loopstep: internal error ({summary}){where}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return EXIT_SOFTWARE
