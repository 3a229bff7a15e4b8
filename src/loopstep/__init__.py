"""loopstep: pdb for the training loop.

Run a training loop one phase at a time — forward, loss, backward, step, zero_grad —
and see the tensors, every parameter and its ``.grad``, the computation trace and the
loss between phases.
"""

from .version import __version__

__all__ = ["Experiment", "__version__", "debug", "listen"]


def __getattr__(name: str):
    """``loopstep.Experiment``, ``loopstep.debug`` and ``loopstep.listen`` load on first use: importing loopstep
    stays instant and never imports torch."""
    if name == "Experiment":
        from .experiment import Experiment

        return Experiment
    if name == "debug":
        from .api import debug

        return debug
    if name == "listen":
        from .api import listen

        return listen
    raise AttributeError(f"module 'loopstep' has no attribute {name!r}")
