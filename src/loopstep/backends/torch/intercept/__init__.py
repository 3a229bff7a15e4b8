"""``loopstep run``: step through an unmodified PyTorch training script."""

from .facts import RunFacts
from .hooks import Interceptor
from .script import ScriptSource, script_session
from .tracker import PhaseTracker

__all__ = ["Interceptor", "PhaseTracker", "RunFacts", "ScriptSource", "script_session"]
