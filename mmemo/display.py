"""Tables for people: a result laid out to the width it is printed at.

:class:`FitTable` is a rich renderable that chooses its layout when it is printed, from the
console's width (a terminal's, or 80 columns in a log file):

* the whole table, when every column fits at its natural width;
* the table with long text columns wrapped, when they alone are too wide and no row grows
  over :data:`MAX_ROW_LINES` lines, or when only one column wraps and it keeps at least a
  third of the width (a listing with one long description); the identifying column (a run
  name, a clip id) and numbers are never wrapped or cut;
* otherwise one record per row (like psql's ``\\x`` or DuckDB's ``.mode line``): every column on
  its own line, so nothing becomes a one-character column.

Text wraps at spaces and after ``/ , = _`` (:func:`wrap_text`), never inside a word or an
identifier: a header ``Macro-F1`` or a model ``wav2vec2-finetune`` cut into ``Macro-F`` and
``1`` reads as another word, and a path or run name cut mid-token cannot be searched for. A
column is never narrower than its longest unbreakable piece; a table that cannot give every
column that much becomes records, where a value only gets folded if one piece of it is wider
than the whole line.

Numbers are rounded for display, per column (four significant digits at the column's largest
magnitude); files written as csv, json or parquet keep full precision. Every title, header and
cell is plain text, never read as rich markup. Title and caption are printed as lines of their
own, wrapped by words at the console's width.

Layer 7, the renderer with :mod:`mmemo.outputs`, beside :mod:`mmemo.reports`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.cells import cell_len, chop_cells
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

#: Text columns are not wrapped below this width (or their natural width, if smaller).
MIN_WRAP_WIDTH = 8
#: A table whose rows would wrap over more lines than this is printed one record per row,
#: unless only one column wraps and keeps at least :data:`LONG_COLUMN_SHARE` of the width.
MAX_ROW_LINES = 3
#: The least share of the width one long column needs to stay a column however tall its rows.
LONG_COLUMN_SHARE = 1 / 3
#: Besides spaces, text may break after these: the joints of paths, grid names and lists;
#: after ``/`` and ``,`` first, after ``=`` and ``_`` only inside a piece too wide for the line
#: (``svc/C=10,`` keeps ``C=10`` together).
BREAK_AFTER = "/,=_"
_FIRST_BREAKS = "/,"
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


def _splitter(separators: str) -> re.Pattern[str]:
    """Pieces of a word: text up to and with the separators that follow it (``svc/``,
    ``10,``); separators that start a word stay with it (``/tmp/``)."""
    return re.compile(f"[{separators}]*[^{separators}]+[{separators}]*|[{separators}]+")


_COARSE = _splitter(_FIRST_BREAKS)
_FINE = _splitter(BREAK_AFTER)


def _pieces(word: str, width: int) -> list[str]:
    """The pieces ``word`` may break between at ``width``: after ``/`` and ``,``, and after
    ``=`` and ``_`` inside a piece wider than ``width``."""
    pieces: list[str] = []
    for piece in _COARSE.findall(word):
        pieces += [piece] if cell_len(piece) <= width else _FINE.findall(piece)
    return pieces


def wrap_text(text: str, width: int) -> list[str]:
    """``text`` as lines of at most ``width`` cells, broken at spaces and after
    :data:`BREAK_AFTER`, never inside a word or an identifier.

    >>> wrap_text("svc/C=10,norm=minmax", 12)
    ['svc/C=10,', 'norm=minmax']
    >>> wrap_text("hidden_layer_sizes", 12)
    ['hidden_', 'layer_sizes']
    >>> wrap_text("Macro-F1", 7)  # one piece wider than the line: the only thing folded
    ['Macro-F', '1']
    """
    width = max(width, 1)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            for k, piece in enumerate(_pieces(word, width)):
                joined = f"{line} {piece}" if line and k == 0 else line + piece
                if not line or cell_len(joined) <= width:
                    line = joined
                else:
                    lines.append(line)
                    line = piece
                if cell_len(line) > width:
                    *full, line = chop_cells(line, width)
                    lines += full
        lines.append(line)
    return lines


def wrapped_lines(text: str, width: int) -> int:
    """How many lines ``text`` takes wrapped to ``width`` (see :func:`wrap_text`)."""
    return len(wrap_text(text, width))


def longest_piece(text: str) -> int:
    """The width of the widest piece ``text`` cannot be broken inside (see :func:`wrap_text`):
    the narrowest a column of it may get."""
    return max((cell_len(p) for word in text.split() for p in _FINE.findall(word)), default=0)


def shorten(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` cells: whole when it fits, else up to the last
    place it may break (see :func:`wrap_text`) that leaves room for ``…``.

    >>> shorten("Test accuracy (%) of every run per actor", 24)
    'Test accuracy (%) of…'
    """
    flat = " ".join(text.split())
    if cell_len(flat) <= width:
        return flat
    return wrap_text(flat, width - 1)[0].rstrip(" ,;:.") + "…"


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
        shorten: Index of a column cut to one line (see :func:`shorten`) instead of wrapped:
            a summary whose whole text lives elsewhere (a recipe's description), so that a
            listing keeps one line per row.
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    key: int | None = 0
    title: str | None = None
    caption: str | None = None
    bold_rows: set[int] = field(default_factory=set)
    bold_cells: set[tuple[int, int]] = field(default_factory=set)
    factor: bool = False
    shorten: int | None = None

    def __post_init__(self) -> None:
        if self.key is not None and self.key != 0 and self.key < len(self.columns):
            order = [self.key] + [j for j in range(len(self.columns)) if j != self.key]
            self.columns = [self.columns[j] for j in order]
            self.rows = [[row[j] for j in order] for row in self.rows]
            self.bold_cells = {(i, order.index(j)) for i, j in self.bold_cells}
            if self.shorten is not None:
                self.shorten = order.index(self.shorten)
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
        """The narrowest a column may get: its header's and its cells' longest unbreakable
        piece (see :func:`wrap_text`), and no less than :data:`MIN_WRAP_WIDTH` for text; the
        key and numbers keep their cells whole and only wrap their header; a shortened
        column goes down to :data:`MIN_WRAP_WIDTH` (its cells end in ``…``)."""
        header = longest_piece(self.columns[j])
        if j == self.shorten:
            return max(min(natural, MIN_WRAP_WIDTH), header)
        if self._wrappable(j):
            pieces = max((longest_piece(row[j]) for row in self._cells), default=0)
            return max(min(natural, MIN_WRAP_WIDTH), pieces, header)
        return max(self._cell_width(j), header)

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
        wrapped = [j for j, w in enumerate(widths) if w < natural[j] and j != self.shorten]
        if len(wrapped) == 1 and widths[wrapped[0]] >= room * LONG_COLUMN_SHARE:
            return widths  # one long column: it takes the room left, however tall its rows
        tallest = max(
            (
                max(wrapped_lines(c, widths[j]) for j, c in enumerate(row) if j != self.shorten)
                for row in self._cells
            ),
            default=1,
        )
        return widths if tallest <= MAX_ROW_LINES else None

    @staticmethod
    def _fitted(text: str, width: int, *, shortened: bool = False) -> str:
        """A cell or header laid out in ``width``: broken into lines by :func:`wrap_text`, or
        cut to one line by :func:`shorten` (the cells of the :attr:`shorten` column)."""
        if shortened:
            return shorten(text, width)
        if "\n" not in text and cell_len(text) <= width:
            return text
        return "\n".join(wrap_text(text, width))

    # -- rendering -----------------------------------------------------------------------------

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        widths = self.layout(width)
        if widths is None and self.factor:
            factored = self.without_constants()
            if factored is not None and factored.layout(width) is not None:
                yield from factored.__rich_console__(console, options)
                return
        # title and caption are wrapped here, not by the console: they belong to the table and
        # fit its width also where messages are printed whole (off a terminal)
        if self.title:
            yield Text(self._fitted(self.title, width), style="bold")
        if widths is None:
            yield from self._records(width)
        else:
            yield self._table(widths)
        if self.caption:
            yield Text(self._fitted(self.caption, width), style="dim")

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
            shorten=None if self.shorten not in keep else keep.index(self.shorten),
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
                Text(self._fitted(header, widths[j])),
                width=widths[j],
                justify="right" if self._numeric[j] else "left",
                overflow="fold",
            )
        for i, row in enumerate(self._cells):
            table.add_row(
                *(
                    Text(
                        self._fitted(c, widths[j], shortened=j == self.shorten),
                        style=self._style(i, j),
                    )
                    for j, c in enumerate(row)
                )
            )
        return table

    def _records(self, width: int) -> Iterator[Any]:
        """One block per row: a rule naming the row (by its key), then ``column  value``, the
        values wrapped (or shortened) to the width the labels leave."""
        label_width = max(cell_len(c) for c in self.columns)
        value_width = max(width - label_width - 1, 1)
        for i, row in enumerate(self._cells):
            name = row[self.key] if self.key is not None else ""
            yield Text(f"-[ RECORD {i + 1} ]- {name}".rstrip(), style="bold")
            grid = Table.grid(padding=(0, 1))
            grid.add_column(no_wrap=True, min_width=label_width)
            grid.add_column(overflow="fold")
            for j, header in enumerate(self.columns):
                value = self._fitted(row[j], value_width, shortened=j == self.shorten)
                grid.add_row(Text(header, style="dim"), Text(value, style=self._style(i, j)))
            yield grid
