"""What the diagnostics can find: each finding's id, severity, why it matters and the fix.

Kept apart from the observer that finds them (:mod:`.diagnostics`) so that the app, ``loopstep
check`` and the docs read one catalog.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # info, warning or error
    iteration: int
    location: str  # the user's file:line where known, else ""
    message: str  # what was seen, with numbers
    why: str  # one sentence on why it matters
    fix: str

    def line(self) -> str:
        where = self.location or "-"
        return f"{self.id}  {self.severity}  iter {self.iteration}  {where}  {self.message}"

    def to_json(self) -> dict:
        return asdict(self)


# id -> (severity, why, fix)
CATALOG: dict[str, tuple[str, str, str]] = {
    "ddp-same-batches": (
        "error",
        "with the same batches on every rank the job learns from one rank's data, N times over",
        "give the DataLoader sampler=DistributedSampler(dataset) (and shuffle=False), and call "
        "sampler.set_epoch(epoch) at each epoch",
    ),
    "ddp-sampler-epoch": (
        "warning",
        "a DistributedSampler shuffles by its epoch: without set_epoch every epoch sees the same order",
        "call sampler.set_epoch(epoch) before each pass over the DataLoader",
    ),
    "ddp-uneven-batches": (
        "error",
        "a rank with more batches waits in its last all-reduce for ranks that have already "
        "finished the pass: the job hangs there until the process group times out",
        "give every rank as many batches: a DistributedSampler (it pads the last batch), "
        "drop_last=True, or the loop inside torch.distributed.algorithms.Join",
    ),
    "ddp-grad-not-synced": (
        "error",
        "a step on gradients that were never all-reduced moves each rank by its own batch "
        "only, and the ranks' models drift apart",
        "step only after a backward outside no_sync() (with accumulation: the last "
        "micro-batch's), and change .grad the same way on every rank",
    ),
    "ddp-params-diverged": (
        "error",
        "DDP keeps the ranks' models equal only by averaging their gradients: an update that "
        "differs by rank leaves each rank training a model of its own, and rank 0's checkpoint "
        "is rank 0's alone",
        "change the parameters the same way on every rank (one lr and schedule, no update "
        "made on one rank only)",
    ),
    "ddp-unused-params": (
        "warning",
        "parameters no backward reaches never train, and finding them costs DDP a walk over "
        "the autograd graph in every iteration",
        "use them in the forward, or freeze them (requires_grad_(False)) or drop them; then "
        "build DDP without find_unused_parameters=True (or with static_graph=True)",
    ),
    "zero-grad-missing": (
        "error",
        "backward adds onto .grad, so each step uses the sum of all gradients so far and training never settles",
        "call optimizer.zero_grad() once per step (after optimizer.step() or before loss.backward())",
    ),
    "grad-accumulation": (
        "info",
        "several backward passes add up in .grad before each step, which is deliberate accumulation",
        "nothing to fix; divide the loss by k if you want the mean rather than the sum of the micro-batches",
    ),
    "eval-in-train-mode": (
        "warning",
        "Dropout stays on and BatchNorm uses and updates batch statistics, so evaluation numbers are noisy and wrong",
        "call model.eval() before evaluating and model.train() before training again",
    ),
    "eval-builds-graph": (
        "warning",
        "a forward that no backward uses still records the autograd graph, wasting memory and time",
        "wrap evaluation in `with torch.no_grad():` (or torch.inference_mode())",
    ),
    "param-no-grad": (
        "warning",
        "a parameter whose .grad stays None after backward is not in the loss's graph and never trains",
        "use the parameter in the forward, or set requires_grad=False / delete it if it is not meant to train",
    ),
    "param-not-in-optimizer": (
        "error",
        "the optimizer never updates a parameter it was not given, however large its gradient",
        "pass model.parameters() (or every param group) to the optimizer",
    ),
    "nonfinite": (
        "error",
        "one NaN or Inf spreads to every parameter at the next step and the run is lost",
        "lower the learning rate, clip gradients, and guard log/div/sqrt against 0 in the module named",
    ),
    "exploding-grad": (
        "warning",
        "a gradient far above its usual size throws the weights far off in one step",
        "lower the learning rate or clip with torch.nn.utils.clip_grad_norm_",
    ),
    "vanishing-grad": (
        "warning",
        "a layer whose gradient is vanishingly small next to the others barely learns",
        "check activations that saturate, initialisation, or add normalisation / residual connections",
    ),
    "loss-diverging": (
        "warning",
        "a loss that trends upwards means the updates are making the model worse",
        "lower the learning rate; check zero_grad and the loss's sign",
    ),
    "loss-flat": (
        "warning",
        "a loss that does not move means the parameters are not being updated, or updated too little",
        "check that optimizer.step() runs, the learning rate is not tiny, and the loss is not detached",
    ),
}
