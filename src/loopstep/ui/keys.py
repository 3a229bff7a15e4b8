"""Every key of the app in one table: the bindings, the help screen and the command palette
are all built from it, so a new key is one new line here plus its action."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from ..engine.phases import Phase


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma separated
    action: str  # the app action without the "action_" prefix
    label: str  # short, for the footer
    help: str  # one line for the help screen and the command palette
    footer: bool = True
    label_keys: str = ""  # how the help screen writes the keys, when not ``keys``


KEYS: tuple[Key, ...] = (
    Key("s,space", "step", "step", "run one phase and pause", label_keys="s / space"),
    Key("n", "next", "next", "run to the end of this iteration (zero_grad)"),
    Key("e", "epoch", "epoch", "run to the end of this epoch (validate)"),
    Key("c", "continue", "cont/pause", "continue running; press again to pause"),
    Key("z", "toggle_zero_grad", "zero_grad", "switch optimizer.zero_grad() on or off"),
    Key("l", "toggle_log", "log", "loss chart: switch between linear and log scale"),
    Key(
        "left_square_bracket",
        "zoom_in",
        "zoom",
        "loss chart: zoom in on the last half of the iterations shown",
        footer=False,
        label_keys="[",
    ),
    Key(
        "right_square_bracket",
        "zoom_out",
        "all",
        "loss chart: zoom out (twice as many iterations, up to all)",
        footer=False,
        label_keys="]",
    ),
    Key(
        "minus",
        "slower",
        "slower",
        "continue at a pace: slower (1 to 50 iterations a second; c then plays the run, every pane drawn)",
        footer=False,
        label_keys="-",
    ),
    Key(
        "plus",
        "faster",
        "faster",
        "continue at a pace: faster, up to as fast as the run goes (c continues freely)",
        footer=False,
        label_keys="+",
    ),
    Key(
        "g",
        "next_chart",
        "chart",
        "chart: the loss → grad norm → layer grad norms → update/weight → learning rate → watches",
        footer=False,
    ),
    Key(
        "less_than_sign",
        "cursor_back",
        "cursor",
        "chart: a cursor, an iteration back (from the last); the values there in place of the legend",
        footer=False,
        label_keys="<",
    ),
    Key(
        "greater_than_sign",
        "cursor_on",
        "cursor",
        "chart: the cursor an iteration on; past the last it goes away",
        footer=False,
        label_keys=">",
    ),
    Key(
        "m",
        "smoothing",
        "smooth",
        "loss chart: smoothing (TensorBoard's EMA) 0.6 → 0.9 → 0.99 → off",
        footer=False,
    ),
    Key(
        "f",
        "toggle_framework_frame",
        "frame",
        "code: the framework's frame that ran the phase (Lightning, transformers, accelerate), or your line",
        footer=False,
    ),
    Key(
        "u,left",
        "step_back",
        "back",
        "step back one phase (restore + replay; what-if after a change; a script: look back)",
        label_keys="u / ←",
    ),
    Key(
        "exclamation_mark,colon",
        "prompt",
        "eval",
        "expression prompt: evaluate Python in the training frame (pdb's p)",
        label_keys="! / :",
    ),
    Key("w", "watches", "watch", "watches: expressions shown at every pause (add, remove)"),
    Key(
        "v",
        "toggle_variables",
        "vars",
        "variables pane: the training frame's names (in place of the trace)",
        footer=False,
    ),
    Key("b", "breakpoints", "break", "stop conditions: add or remove (nan, grad_norm>10, …)"),
    Key("r", "restart", "restart", "start the run again from the first batch"),
    Key(
        "R",
        "next_rank",
        "rank",
        "torchrun: show the next rank's pause (every pane draws that rank's numbers)",
        footer=False,
    ),
    Key("k", "quick_check", "quiz", "quick check: a few questions on the loop"),
    Key(
        "ctrl+s",
        "save_svg",
        "svg",
        "save an SVG screenshot in ./loopstep-screenshots/ (the toast names the file)",
        footer=False,
        label_keys="ctrl+s",
    ),
    Key("question_mark", "help", "help", "this help: every key and what each phase does", label_keys="?"),
    Key("q", "quit", "quit", "quit loopstep"),
)

#: What each phase does, for the help screen.
PHASE_HELP: dict[Phase, str] = {
    Phase.FORWARD: "run the model on the batch: x goes in, predictions pred come out",
    Phase.LOSS: "score the predictions against the targets y: one number, L",
    Phase.BACKWARD: "work out dL/dθ for every parameter θ and add it into θ.grad",
    Phase.CLIP: "clip_grad_norm_ / clip_grad_value_: shrink .grad before the step uses it",
    Phase.STEP: "move every parameter a little downhill: θ ← θ − lr·θ.grad",
    Phase.UPDATE: "the script changed the parameters itself, outside any optimizer (p.data.add_…)",
    Phase.ZERO_GRAD: "wipe .grad, so the next backward does not add onto this one",
    Phase.VALIDATE: "a pass without grad (no_grad, inference_mode): loss on held-out data, or sampling",
}

#: Keys that are not app bindings but that the help screen lists.
NAVIGATION_HELP: tuple[tuple[str, str], ...] = (
    ("tab / shift+tab", "move between panes"),
    ("tab, then ← / →", "in a terminal under 120x40, where the panes are tabs: go to another tab"),
    ("arrows, pgup/pgdn", "scroll the focused pane; in the trace, walk the tree"),
    ("enter", "tensors: show the values of the selected tensor; trace: expand or collapse"),
    ("ctrl+p", "command palette: every action by name"),
)


def bindings() -> list[Binding]:
    return [Binding(k.keys, k.action, k.label, show=k.footer, tooltip=k.help) for k in KEYS]
