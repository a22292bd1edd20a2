"""The bundled action model's vocabulary: every action, what it means, and how other label
sets map onto it.

Two kinds of action:

- a **state** lasts as long as the person stays in it (standing, sitting, lying, walking,
  running): a timeline shows it for seconds or minutes;
- an **event** is a movement with a start and an end, seconds long (a fall, sitting down, a
  wave). An event that leaves the person in a state names it in ``ends_in`` (a fall ends
  lying): the timeline reports such an event as a short segment and the state after it,
  even when the model's own answer lingers on the event.

``unknown`` is the answer when nothing in the vocabulary fits (open-set rejection): the
model is trained with a class of real and synthetic movements outside the vocabulary
(playing golf, pouring, pushing, ...) under that name.

Names of states and events never collide: JHMDB's ``sit`` and ``stand`` are the events
``sit_down`` and ``stand_up`` here, and ``sit`` and ``stand`` are the states.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Action:
    name: str
    kind: str  # "state" or "event"
    definition: str
    ends_in: Optional[str] = None  # the state an event leaves the person in


ACTIONS: Tuple[Action, ...] = (
    Action("stand", "state", "standing in place: still, shifting weight, looking about"),
    Action("sit", "state", "sitting on a chair, a sofa or the floor"),
    Action("lie", "state", "lying on the floor, a bed or a sofa"),
    Action("walk", "state", "walking, in any direction"),
    Action("run", "state", "running or jogging"),
    Action("fall", "event", "falling to the floor, from standing or from a chair", "lie"),
    Action("sit_down", "event", "sitting down from standing", "sit"),
    Action("stand_up", "event", "standing up from sitting", "stand"),
    Action("jump", "event", "jumping: in place, forward or repeatedly"),
    Action("pick_up", "event", "bending down to pick something up, or to reach low"),
    Action("wave", "event", "waving one or both hands"),
    Action("clap", "event", "clapping the hands"),
    Action("squat", "event", "a deep knee bend, once or repeatedly"),
    Action("kick", "event", "kicking with one leg"),
    Action("punch", "event", "punching with one arm"),
    Action("throw", "event", "throwing something overarm or underarm"),
    Action(UNKNOWN, "state", "none of the above: an activity outside the vocabulary"),
)

BY_NAME: Dict[str, Action] = {a.name: a for a in ACTIONS}
NAMES: Tuple[str, ...] = tuple(a.name for a in ACTIONS)
STATES: Tuple[str, ...] = tuple(a.name for a in ACTIONS if a.kind == "state")
EVENTS: Tuple[str, ...] = tuple(a.name for a in ACTIONS if a.kind == "event")

#: JHMDB's 21 classes (14 of them in JHMDB-14) -> the vocabulary.
JHMDB: Mapping[str, str] = {
    "walk": "walk", "run": "run", "jump": "jump", "pick": "pick_up", "sit": "sit_down",
    "stand": "stand_up", "wave": "wave", "clap": "clap", "throw": "throw",
    "kick_ball": "kick", "catch": UNKNOWN, "golf": UNKNOWN, "pour": UNKNOWN,
    "pullup": UNKNOWN, "push": UNKNOWN, "brush_hair": UNKNOWN, "climb_stairs": UNKNOWN,
    "shoot_ball": UNKNOWN, "shoot_bow": UNKNOWN, "shoot_gun": UNKNOWN,
    "swing_baseball": UNKNOWN,
}

#: UP-Fall's activities -> the vocabulary (a fall clip starts standing and ends lying).
UPFALL: Mapping[str, str] = {
    "fall_forward_hands": "fall", "fall_forward_knees": "fall", "fall_backward": "fall",
    "fall_sideways": "fall", "fall_sitting": "fall", "walk": "walk", "stand": "stand",
    "sit": "sit", "lie_down": "lie", "pick_up": "pick_up", "jump": "jump",
}

#: pipan's synthetic motion programs (``training.synth.actions``) -> the vocabulary.
SYNTHETIC: Mapping[str, str] = {
    "walk": "walk", "run": "run", "jump": "jump", "wave": "wave", "wave_both": "wave",
    "clap": "clap", "squat": "squat", "sit": "sit_down", "stand": "stand_up",
    "punch": "punch", "kick": "kick", "pick": "pick_up", "throw": "throw",
    "idle": "stand", "catch": UNKNOWN, "golf": UNKNOWN, "pour": UNKNOWN,
    "pullup": UNKNOWN, "push": UNKNOWN,
    "fall_forward": "fall", "fall_backward": "fall", "fall_sideways": "fall",
    "fall_chair": "fall", "lie": "lie", "sit_still": "sit",
}

#: Event -> the state it ends in (what the timeline shows once the event is over).
TRANSITIONS: Mapping[str, str] = {a.name: a.ends_in for a in ACTIONS if a.ends_in}

MAPPINGS: Mapping[str, Mapping[str, str]] = {
    "jhmdb": JHMDB, "upfall": UPFALL, "synthetic": SYNTHETIC,
}


def map_labels(labels: Sequence[str], mapping: Mapping[str, str]) -> Tuple[str, ...]:
    """Each label through ``mapping``; a label the mapping does not name is an error."""
    missing = sorted({str(x) for x in labels} - set(mapping))
    if missing:
        raise ValueError(f"no vocabulary entry for {', '.join(missing)}")
    return tuple(mapping[str(x)] for x in labels)


def table() -> str:
    """The vocabulary as a Markdown table (README and model card)."""
    rows = ["| action | kind | meaning |", "|---|---|---|"]
    for a in ACTIONS:
        kind = a.kind + (f", ends in {a.ends_in}" if a.ends_in else "")
        rows.append(f"| {a.name} | {kind} | {a.definition} |")
    return "\n".join(rows)
