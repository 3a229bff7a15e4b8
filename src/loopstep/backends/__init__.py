"""Backends: the NumPy loop with hand-written gradients, and PyTorch.

Only :mod:`loopstep.backends.torch` imports torch, and only when asked for, so the
first frame of the app never waits for it. What a backend offers a loop loopstep owns is
:class:`loopstep.engine.protocols.TrainingBackend`.
"""

from __future__ import annotations

BACKENDS = ("numpy", "torch")

__all__ = ["BACKENDS"]
