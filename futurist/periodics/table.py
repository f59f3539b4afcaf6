"""A plain-text table with box borders, for ``PeriodicWorker.pformat`` (no extra dependency)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["render_table"]


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[str] = ()
) -> str:
    """Render ``rows`` under ``headers``; columns named in ``right`` are right-aligned."""
    widths = [
        max([len(header)] + [len(row[i]) for row in rows]) for i, header in enumerate(headers)
    ]
    border = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

    def line(values: Sequence[str], header: bool) -> str:
        parts = []
        for value, name, width in zip(values, headers, widths, strict=True):
            text = value.rjust(width) if name in right and not header else value.ljust(width)
            parts.append(f" {text} ")
        return "|" + "|".join(parts) + "|"

    out = [border, line(headers, True), border]
    out.extend(line(row, False) for row in rows)
    if rows:
        out.append(border)
    return "\n".join(out)
