"""A script started by something else (a cluster launcher) that makes itself a listening
run: ``loopstep.listen()`` first thing, then the long loop of long_loop.py."""

import sys

import loopstep

print("before listen", file=sys.stderr, flush=True)
loopstep.listen(breaks=["iteration=1"])

from long_loop import main  # noqa: E402 - after listen(), which starts the script again

if __name__ == "__main__":
    main()
