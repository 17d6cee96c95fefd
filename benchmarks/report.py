"""Figures next to their baselines, and the one table they make (plain text and Markdown)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

COLUMNS = ("what", "measured", "baseline", "ratio", "goal", "met?")
NOT_APPLICABLE = "—"


class Comparison(Enum):
    """How a figure's ratio reads: measured over baseline, or the baseline's multiple of it."""

    RELATIVE = "relative"  # measured ÷ baseline, e.g. "1.12x"
    SAVING = "saving"  # baseline ÷ measured, e.g. "4,883x less"
    SPEEDUP = "speedup"  # baseline ÷ measured, e.g. "310x faster"


@dataclass(frozen=True)
class Figure:
    """One measured quantity, its baseline from the same run, and the goal it is held to."""

    what: str
    measured: float
    baseline: float
    unit: str
    comparison: Comparison = Comparison.RELATIVE
    goal: Goal | None = None
    measured_note: str = ""
    baseline_note: str = ""

    @property
    def ratio(self) -> float | None:
        numerator, denominator = self.measured, self.baseline
        if self.comparison is not Comparison.RELATIVE:
            numerator, denominator = denominator, numerator
        return numerator / denominator if denominator else None

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.check(self)

    def cells(self) -> tuple[str, ...]:
        met = {None: NOT_APPLICABLE, True: "yes", False: "NO"}[self.met]
        return (
            self.what,
            _with_note(format_quantity(self.measured, self.unit), self.measured_note),
            _with_note(format_quantity(self.baseline, self.unit), self.baseline_note),
            self._ratio_text(),
            self.goal.text if self.goal else NOT_APPLICABLE,
            met,
        )

    def _ratio_text(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return NOT_APPLICABLE
        suffix = {Comparison.SAVING: " less", Comparison.SPEEDUP: " faster"}.get(
            self.comparison, ""
        )
        return f"{format_number(ratio)}x{suffix}"


@dataclass(frozen=True)
class Goal:
    """A target in words and the check that decides whether a figure meets it."""

    text: str
    check: Callable[[Figure], bool]


def ratio_at_most(limit: float) -> Goal:
    return Goal(f"≤ {format_number(limit)}x", lambda f: f.ratio is not None and f.ratio <= limit)


def ratio_below(limit: float) -> Goal:
    return Goal(f"< {format_number(limit)}x", lambda f: f.ratio is not None and f.ratio < limit)


def measured_equals(value: float, unit: str) -> Goal:
    return Goal(f"= {format_quantity(value, unit)}", lambda f: f.measured == value)


@dataclass
class Section:
    """The figures of one benchmark, under its number and title."""

    number: int
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}"


def text_table(sections: Sequence[Section]) -> str:
    """The table as aligned plain text, a rule above each section."""
    rows = [figure.cells() for section in sections for figure in section.figures]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    total = sum(widths) + 2 * (len(widths) - 1)
    lines = [_text_row(COLUMNS, widths)]
    for section in sections:
        lines.append(f"── {section.heading} ".ljust(total, "─"))
        lines += [_text_row(figure.cells(), widths) for figure in section.figures]
    return "\n".join(lines)


def markdown_table(sections: Sequence[Section]) -> str:
    """The table in GitHub Markdown, a bold row heading each section."""
    lines = [_markdown_row(COLUMNS), _markdown_row(["---"] * len(COLUMNS))]
    for section in sections:
        lines.append(_markdown_row([f"**{section.heading}**", *[""] * (len(COLUMNS) - 1)]))
        lines += [_markdown_row(figure.cells()) for figure in section.figures]
    return "\n".join(lines)


def format_quantity(value: float, unit: str) -> str:
    return f"{format_number(value)} {unit}".strip()


def format_number(value: float) -> str:
    """Integers with separators; otherwise enough digits to read the figure, no more."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _with_note(text: str, note: str) -> str:
    return f"{text} ({note})" if note else text


def _text_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
