"""Exit statuses, the same for every command and for ``loopstep.debug``.

0 the run finished or the user ended it; 1 the training code raised; 2 bad input (one
line, no traceback); 3 a stop condition fired in text mode and ended the run (``--on-stop
continue`` goes on instead); 70 (EX_SOFTWARE) loopstep itself failed, with a crash report;
130 Ctrl+C; 128+N after signal N (SIGHUP, SIGTERM).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_TRAINING_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 3
EXIT_SOFTWARE = 70
EXIT_INTERRUPTED = 130


class FrontendError(Exception):
    """The run cannot start as asked (no terminal for the app, say): one line, exit 2."""
