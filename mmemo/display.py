"""Tables for people: a result laid out to the width it is printed at.

:class:`FitTable` is a rich renderable that chooses its layout when it is printed, from the
console's width (a terminal's, or 80 columns in a log file):

* the whole table, when every column fits at its natural width;
* the table with long text columns wrapped, when they alone are too wide and no row grows
  over :data:`MAX_ROW_LINES` lines; the identifying column (a run name, a clip id) and
  numbers are never wrapped or cut;
* otherwise one record per row (like psql's ``\\x`` or DuckDB's ``.mode line``): every column on
  its own line, so nothing becomes a one-character column.

Numbers are rounded for display, per column (four significant digits at the column's largest
magnitude); files written as csv, json or parquet keep full precision. Every title, header and
cell is plain text, never read as rich markup. Title and caption are printed as lines of their
own, wrapped by words at the console's width.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

#: Text columns are not wrapped below this width (or their natural width, if smaller).
MIN_WRAP_WIDTH = 8
#: Words up to this long are never folded: a text column keeps room for its longest one.
UNBROKEN_WORD = 16
#: A table whose rows would wrap over more lines than this is printed one record per row.
MAX_ROW_LINES = 3
#: A list cell shows at most this many items.
LIST_ITEMS = 8
#: Spaces between two columns (no vertical rules: logs and terminals read the same).
_GAP = 2


#: Text that reads as a number: ``86.70``, ``-3``, ``1,440``, ``86.70 ± 1.23``, ``12.5%``, ``-``.
_NUMBER_TEXT = re.compile(r"^(-|[-+]?[\d.,]+%?( ± [\d.,]+%?)?)$")


def _is_number(value: Any) -> bool:
    """Numbers, and text that reads as one: right-aligned, never wrapped."""
    if isinstance(value, str):
        return bool(_NUMBER_TEXT.match(value))
    return isinstance(value, int | float) and not isinstance(value, bool)


def wrapped_lines(text: str, width: int) -> int:
    """How many lines ``text`` takes wrapped at spaces to ``width`` (longer words folded)."""
    lines = 0
    for paragraph in text.splitlines() or [""]:
        used = None  # width used on the current line; None before its first word
        count = 1
        for word in paragraph.split() or [""]:
            size = cell_len(word)
            if used is not None and used + 1 + size <= width:
                used += 1 + size
                continue
            if used is not None:
                count += 1
            count += max(0, math.ceil(size / width) - 1) if width > 0 else 0
            used = size % width if width > 0 and size > width else size
        lines += count
    return lines


def _longest_word(text: str) -> int:
    """The widest piece a header can be folded into: words, split after hyphens too."""
    return max((cell_len(word) for word in re.split(r"\s+|(?<=-)", text) if word), default=0)


def decimals_for(values: Sequence[Any]) -> int:
    """Decimals that show four significant digits of a float column's largest magnitude
    (between 0 and 4): 86.7 -> 2 (``86.70``), 4.67 -> 3, 0.123 -> 4, 1234.5 -> 0."""
    finite = [abs(v) for v in values if isinstance(v, float) and math.isfinite(v)]
    if not finite:
        return 0
    largest = max(finite)
    magnitude = math.floor(math.log10(largest)) if largest > 0 else 0
    return min(4, max(0, 3 - magnitude))


def display_value(value: Any, decimals: int | None = None) -> str:
    """``value`` as a cell: floats rounded to ``decimals``, long lists shortened, None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{decimals if decimals is not None else 4}f}"
    if isinstance(value, list | tuple):
        shown = ", ".join(display_value(v, decimals) for v in value[:LIST_ITEMS])
        more = f", … ({len(value)})" if len(value) > LIST_ITEMS else ""
        return f"[{shown}{more}]"
    return str(value)


def display_rows(rows: Sequence[Sequence[Any]]) -> list[list[str]]:
    """Cells of ``rows`` as strings, each float column rounded to its own decimals."""
    if not rows:
        return []
    width = max(len(row) for row in rows)
    decimals = [
        decimals_for([row[j] for row in rows if j < len(row) and isinstance(row[j], float)])
        for j in range(width)
    ]
    return [[display_value(v, decimals[j]) for j, v in enumerate(row)] for row in rows]


@dataclass
class FitTable:
    """A table that fits the width it is printed at (see the module docstring).

    Attributes:
        columns: Column headers.
        rows: Rows of raw values (numbers are rounded for display here) or strings.
        key: Index of the identifying column: printed first and never wrapped or cut.
        title: A line printed above the table.
        caption: A line printed below it.
        bold_rows: Rows set in bold.
        bold_cells: ``(row, column)`` cells set in bold.
        factor: When the table does not fit, first try it without the columns that hold one
            value in every row, said once in a line above it (``kind: embedding · dim: 32``),
            before falling back to one record per row.
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    key: int | None = 0
    title: str | None = None
    caption: str | None = None
    bold_rows: set[int] = field(default_factory=set)
    bold_cells: set[tuple[int, int]] = field(default_factory=set)
    factor: bool = False

    def __post_init__(self) -> None:
        if self.key is not None and self.key != 0 and self.key < len(self.columns):
            order = [self.key] + [j for j in range(len(self.columns)) if j != self.key]
            self.columns = [self.columns[j] for j in order]
            self.rows = [[row[j] for j in order] for row in self.rows]
            self.bold_cells = {(i, order.index(j)) for i, j in self.bold_cells}
            self.key = 0
        self._cells = display_rows(self.rows)
        self._numeric = [
            all(_is_number(row[j]) or row[j] is None for row in self.rows) and bool(self.rows)
            for j in range(len(self.columns))
        ]

    # -- layout --------------------------------------------------------------------------------

    def _cell_width(self, j: int) -> int:
        return max((cell_len(row[j]) for row in self._cells), default=0)

    def natural_widths(self) -> list[int]:
        """Each column's width without wrapping: its header or its widest cell."""
        return [max(cell_len(h), self._cell_width(j)) for j, h in enumerate(self.columns)]

    def _wrappable(self, j: int) -> bool:
        return j != self.key and not self._numeric[j]

    def _floor(self, j: int, natural: int) -> int:
        """The narrowest a column may get: text columns wrap down to :data:`MIN_WRAP_WIDTH`
        but keep whole their header's longest word and any word of theirs up to
        :data:`UNBROKEN_WORD`; the key and numbers keep their cells whole and only wrap their
        header at spaces."""
        if self._wrappable(j):
            words = max((cell_len(w) for row in self._cells for w in row[j].split()), default=0)
            return max(
                min(natural, MIN_WRAP_WIDTH),
                min(words, UNBROKEN_WORD),
                _longest_word(self.columns[j]),
            )
        return max(self._cell_width(j), _longest_word(self.columns[j]))

    def layout(self, width: int) -> list[int] | None:
        """Column widths that fit ``width`` (wrapping headers, then text columns, if need be),
        or ``None`` when the table cannot fit and is printed one record per row."""
        natural = self.natural_widths()
        room = width - _GAP * (len(natural) - 1)
        if sum(natural) <= room:
            return natural
        widths = [self._floor(j, w) for j, w in enumerate(natural)]
        if sum(widths) > room:
            return None
        # share the spare room out in proportion to what each column misses, text first
        for group in ([j for j in range(len(widths)) if self._wrappable(j)], range(len(widths))):
            spare = room - sum(widths)
            missing = {j: natural[j] - widths[j] for j in group if natural[j] > widths[j]}
            total = sum(missing.values())
            for j, want in missing.items():
                widths[j] += min(want, spare * want // total)
            for j in sorted(missing, key=lambda j: widths[j] - natural[j]):
                extra = min(room - sum(widths), natural[j] - widths[j])
                widths[j] += extra
        tallest = max(
            (max(wrapped_lines(c, widths[j]) for j, c in enumerate(row)) for row in self._cells),
            default=1,
        )
        return widths if tallest <= MAX_ROW_LINES else None

    # -- rendering -----------------------------------------------------------------------------

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        widths = self.layout(width)
        if widths is None and self.factor:
            factored = self.without_constants()
            if factored is not None and factored.layout(width) is not None:
                yield from factored.__rich_console__(console, options)
                return
        if self.title:
            yield Text(self.title, style="bold")
        if widths is None:
            yield from self._records()
        else:
            yield self._table(widths)
        if self.caption:
            yield Text(self.caption, style="dim")

    def without_constants(self) -> FitTable | None:
        """This table without its columns (but the key) that hold one value in every row, those
        said in a line above it; ``None`` when there are none (or fewer than two rows)."""
        if len(self._cells) < 2:
            return None
        same = [
            j
            for j in range(len(self.columns))
            if j != self.key and len({row[j] for row in self._cells}) == 1
        ]
        if not same:
            return None
        keep = [j for j in range(len(self.columns)) if j not in same]
        said = " · ".join(f"{self.columns[j]}: {self._cells[0][j]}" for j in same)
        return FitTable(
            [self.columns[j] for j in keep],
            [[self._cells[i][j] for j in keep] for i in range(len(self._cells))],
            key=None if self.key is None else keep.index(self.key),
            title="\n".join(t for t in (self.title, said) if t),
            caption=self.caption,
            bold_rows=self.bold_rows,
            bold_cells={(i, keep.index(j)) for i, j in self.bold_cells if j in keep},
        )

    def _style(self, i: int, j: int) -> str:
        return "bold" if i in self.bold_rows or (i, j) in self.bold_cells else ""

    def _table(self, widths: list[int]) -> Table:
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            padding=(0, 1),
            collapse_padding=True,
        )
        for j, header in enumerate(self.columns):
            table.add_column(
                Text(header),
                width=widths[j],
                justify="right" if self._numeric[j] else "left",
                overflow="fold",
            )
        for i, row in enumerate(self._cells):
            table.add_row(*(Text(c, style=self._style(i, j)) for j, c in enumerate(row)))
        return table

    def _records(self) -> Iterator[Any]:
        """One block per row: a rule naming the row (by its key), then ``column  value``."""
        label_width = max(cell_len(c) for c in self.columns)
        for i, row in enumerate(self._cells):
            name = row[self.key] if self.key is not None else ""
            yield Text(f"-[ RECORD {i + 1} ]- {name}".rstrip(), style="bold")
            grid = Table.grid(padding=(0, 1))
            grid.add_column(no_wrap=True, min_width=label_width)
            grid.add_column(overflow="fold")
            for j, header in enumerate(self.columns):
                grid.add_row(Text(header, style="dim"), Text(row[j], style=self._style(i, j)))
            yield grid
