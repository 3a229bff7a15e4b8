"""One module per CLI command: ``add_arguments(parser)`` and ``main(args) -> int``."""

#: command name -> module in loopstep.commands with ``add_arguments(parser)`` and ``main(args) -> int``
COMMANDS: dict[str, str] = {
    "demo": "open the app on a built-in scenario",
    "trace": "print every phase of a run (a scenario by default) as text or JSON lines",
    "run": "step through your own PyTorch script, a factory's Experiment, a scenario or a recording",
    "replay": "step through a run recorded with --record",
    "export": "export a recording's losses as CSV",
    "serve": "serve the app to a web browser (127.0.0.1 by default)",
    "check": "run a training loop for a few iterations and report likely bugs",
    "attach": "attach to a run started with loopstep run --listen",
    "ls": "list the runs that listen for loopstep attach",
}
