"""The priority mix of ``futurist run --priorities``: which priority each task is submitted with.

A mix such as ``0:3,5:1`` means "of every four tasks, three at priority 0 and one at priority 5";
tasks take the priorities in turn (0, 0, 0, 5, 0, 0, 0, 5, ...), so a run is repeatable.
"""

from __future__ import annotations

__all__ = ["MIX_SPEC", "PriorityMixError", "parse_priority_mix"]

MIX_SPEC = "PRIORITY:WEIGHT[,PRIORITY:WEIGHT...], e.g. 0:3,5:1 (higher priorities start first)"

_MAX_WEIGHT = 1000


class PriorityMixError(ValueError):
    """A priority mix that cannot be read; the message says which part and what is allowed."""


def parse_priority_mix(text: str) -> tuple[int, ...]:
    """The priorities of one turn of the mix ``text``, in submission order."""
    turn: list[int] = []
    seen: set[int] = set()
    for part in text.split(","):
        priority_text, colon, weight_text = part.strip().partition(":")
        priority = _integer(priority_text)
        weight = _integer(weight_text) if colon else None
        if priority is None or weight is None or not 1 <= weight <= _MAX_WEIGHT:
            raise PriorityMixError(
                f"priority mix {text!r}: {part.strip()!r} must be PRIORITY:WEIGHT with an "
                f"integer PRIORITY and a WEIGHT from 1 to {_MAX_WEIGHT}; expected {MIX_SPEC}"
            )
        if priority in seen:
            raise PriorityMixError(
                f"priority mix {text!r}: priority {priority} is given twice; give each once"
            )
        seen.add(priority)
        turn.extend([priority] * weight)
    return tuple(turn)


def _integer(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None
