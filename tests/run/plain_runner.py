"""Runs test scripts plainly (no loopstep) in one process, recording what they compute.

Usage: plain_runner.py RECORD_DIR SCRIPT [ARGS...] [-- SCRIPT [ARGS...]]...
"""

import os
import runpy
import sys
import traceback


def main(argv):
    record_dir, rest = argv[0], argv[1:]
    os.environ["LOOPSTEP_TEST_RECORD"] = record_dir
    commands, current = [], []
    for word in rest:
        if word == "--":
            commands.append(current)
            current = []
        else:
            current.append(word)
    commands.append(current)
    for script, *args in (c for c in commands if c):
        sys.argv = [script, *args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
        try:
            runpy.run_path(script, run_name="__main__")
        except Exception:  # noqa: BLE001 - one script that raises on purpose must not stop the others
            traceback.print_exc()
        finally:
            sys.path.pop(0)


if __name__ == "__main__":
    main(sys.argv[1:])
