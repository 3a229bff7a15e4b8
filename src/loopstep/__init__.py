"""loopstep: pdb for the training loop.

Run a training loop one phase at a time — forward, loss, backward, step, zero_grad —
and see the tensors, every parameter and its ``.grad``, the computation trace and the
loss between phases.
"""

__version__ = "0.1.0"

__all__ = ["Experiment", "debug"]


def __getattr__(name: str):
    """``loopstep.Experiment`` and ``loopstep.debug`` load on first use: importing loopstep
    stays instant and never imports torch."""
    if name in ("Experiment", "debug"):
        from . import experiment

        return getattr(experiment, name)
    raise AttributeError(f"module 'loopstep' has no attribute {name!r}")
