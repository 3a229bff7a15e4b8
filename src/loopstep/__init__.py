"""loopstep: pdb for the training loop.

Run a training loop one phase at a time — forward, loss, backward, step, zero_grad —
and see the tensors, every parameter and its ``.grad``, the computation trace and the
loss between phases.
"""

__version__ = "0.1.0"
