"""The stepping engine: phases, the stepper, snapshots and the text stream.

A library with no UI in it: it imports neither textual nor rich, so everything the app
shows is also available headless.
"""

from .owned_loop import BatchPlan, OwnedLoop
from .phases import PHASE_CODE, TRAINING_PHASES, Phase, PhaseEvent, SourceLocation
from .snapshot import LossPoint, ParamState, Snapshot
from .stepper import Command, Listener, RunState, Settings, Stepper, StopRun, TrainingError
from .summary import TensorSummary
from .trace import GraphNode, Trace, TraceOp

__all__ = [
    "PHASE_CODE",
    "TRAINING_PHASES",
    "BatchPlan",
    "Command",
    "GraphNode",
    "Listener",
    "LossPoint",
    "OwnedLoop",
    "ParamState",
    "Phase",
    "PhaseEvent",
    "RunState",
    "Settings",
    "Snapshot",
    "SourceLocation",
    "Stepper",
    "StopRun",
    "TensorSummary",
    "Trace",
    "TraceOp",
    "TrainingError",
]
