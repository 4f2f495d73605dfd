"""A paper's published numbers as data, the commands that remake them, and the store beside them.

``mmemo reproduce PAPER`` works in three steps:

1. :func:`load_paper` reads a cells file (TOML): the paper and its citation, the inputs its
   recipes need, named groups of commands (``steps``), and one ``[[cells]]`` entry per published
   number with the run and metric that give the store's value. The built-in papers ship in
   ``mmemo/reports/papers/`` (``luna2022``); any other file path works the same way.
2. :func:`mmemo.reports.recipes.recipe` turns the chosen groups into command lines, with every
   ``{INPUT}`` replaced by the path :func:`mmemo.reports.recipes.resolve_inputs` found for it
   (or left as ``<INPUT>`` with a note where to get it). The CLI prints them (``--recipe``) or
   runs them in-process (``--run``).
3. :func:`check_cells` reads each cell's run from the store through the report's own summaries
   (:func:`mmemo.reports.report.summarize_matching`, so the numbers are those ``mmemo report``
   prints) and says, per cell, ``ok``, ``mismatch`` or ``missing``.

The comparison rounds nothing: a cell matches when ``|store - paper| <= tolerance``. Cells the
paper prints to two decimals and the store must reproduce exactly carry 0.005; cells made from
raw inputs (retrained on other hardware) carry the paper's 95% interval.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from mmemo.corpora.ravdess import EMOTIONS
from mmemo.errors import InputError, NotFoundError, did_you_mean
from mmemo.store.store import Store

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Metrics a cell may name: a run's ``accuracy`` or ``ci95`` (%), or a per-class value
#: ``precision:LABEL``, ``recall:LABEL``, ``accuracy:LABEL`` (one-vs-rest), mean over folds.
RUN_METRICS = ("accuracy", "ci95")
CLASS_METRICS = ("precision", "recall", "accuracy")
Status = Literal["ok", "mismatch", "missing"]
#: An input named in a command: ``{NAME}``.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Cell:
    """One published number.

    Attributes:
        table: The paper's table (``"Table 2"``).
        row: Row label, as the paper's row and hyper-parameter columns say it.
        column: Column label (``"accuracy"``, ``"95% CI"``, an emotion).
        value: The published value.
        tolerance: Largest accepted ``|store - paper|``.
        group: The group of cells (and recipe) it belongs to.
        run: The store run whose summary gives the value.
        metric: ``accuracy``, ``ci95`` or ``METRIC:LABEL`` (see :data:`CLASS_METRICS`).
    """

    table: str
    row: str
    column: str
    value: float
    tolerance: float
    group: str
    run: str
    metric: str

    @property
    def label(self) -> str:
        return f"{self.table} / {self.row} / {self.column}"


@dataclass(frozen=True)
class Step:
    """One command of a recipe; ``makes`` names the runs it creates (``--run`` skips the step
    when they all exist)."""

    cmd: str
    makes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    name: str
    about: str
    steps: tuple[Step, ...]


#: What an input is: a file or folder (``path``, the default: a value given for it must
#: exist) or any other text, such as a hub id (``value``: not checked here).
InputKind = Literal["path", "value"]
INPUT_KINDS = ("path", "value")


@dataclass(frozen=True)
class Input:
    """A file, folder or value the recipes need: found under ``--inputs DIR`` by the end of its
    path (``find``), given as ``--input NAME=VALUE``, or its ``default``."""

    name: str
    about: str
    find: str | None = None
    default: str | None = None
    kind: InputKind = "path"


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    citation: str
    source: str
    inputs: dict[str, Input]
    groups: dict[str, Group]
    cells: tuple[Cell, ...]

    def select(self, only: Sequence[str] | None) -> list[str]:
        """The group names ``only`` names (all groups, in file order, when empty).

        Raises:
            InputError: an unknown group (with the valid ones, and a close match).
        """
        if not only:
            return list(self.groups)
        for name in only:
            if name not in self.groups:
                raise InputError(
                    f"unknown group {name!r} of {self.key}; expected one of "
                    f"{', '.join(self.groups)}{did_you_mean(name, self.groups)}"
                )
        return [g for g in self.groups if g in only]


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    store: float | None
    status: Status
    note: str = ""

    @property
    def difference(self) -> float | None:
        return None if self.store is None else self.store - self.cell.value


@dataclass
class Check:
    """The outcome of comparing cells with the store."""

    results: list[CellResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    def passed(self, *, strict: bool = False) -> bool:
        """No mismatch; with ``strict``, no missing cell either."""
        return self.count("mismatch") == 0 and not (strict and self.count("missing"))


def builtin_papers() -> list[str]:
    """Names of the cells files shipped with mmemo."""
    folder = resources.files("mmemo.reports") / "papers"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_paper(name_or_path: str | Path) -> Paper:
    """A built-in paper by name (``luna2022``) or a cells file by path, validated.

    Raises:
        NotFoundError: neither a built-in name nor an existing file.
        InputError: the file is not valid TOML or breaks the layout (one line naming the file
            and the problem).
    """
    text, source = _read(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None
    return _parse(data, source)


def _read(name_or_path: str | Path) -> tuple[str, str]:
    as_path = Path(name_or_path).expanduser()
    names = builtin_papers()
    if as_path.suffix == ".toml" or as_path.exists():
        if as_path.is_dir():
            raise InputError(f"{as_path.absolute()} is a folder, not a .toml cells file")
        if not as_path.is_file():
            raise NotFoundError(
                f"no cells file {as_path.absolute()} (no such file); built-in papers: "
                f"{', '.join(names)}"
            )
        try:
            return as_path.read_text(encoding="utf-8"), str(as_path)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{as_path.absolute()}: cannot read the cells file ({exc})") from None
    if str(name_or_path) not in names:
        raise NotFoundError(
            f"unknown paper {str(name_or_path)!r}; expected one of {', '.join(names)} "
            f"or the path of a .toml cells file{did_you_mean(str(name_or_path), names)}"
        )
    entry = resources.files("mmemo.reports") / "papers" / f"{name_or_path}.toml"
    return entry.read_text(encoding="utf-8"), f"{name_or_path}.toml"


def _parse(data: Mapping[str, Any], source: str) -> Paper:
    def fail(problem: str) -> InputError:
        return InputError(f"{source}: {problem}")

    paper = data.get("paper")
    if not isinstance(paper, dict):
        raise fail("no [paper] table")
    for key in ("key", "citation"):
        if not isinstance(paper.get(key), str) or not paper[key]:
            raise fail(f"[paper] needs a text '{key}'")
    inputs = {}
    for name, spec in (data.get("inputs") or {}).items():
        if not isinstance(spec, dict):
            raise fail(f"[inputs.{name}] must be a table")
        unknown = set(spec) - {"find", "default", "about", "kind"}
        if unknown:
            raise fail(
                f"[inputs.{name}]: unknown key(s) {', '.join(sorted(unknown))}; "
                "expected find, default, about, kind"
            )
        kind = spec.get("kind", "path")
        if kind not in INPUT_KINDS:
            raise fail(
                f"[inputs.{name}]: kind = {kind!r}; expected one of {', '.join(INPUT_KINDS)}"
            )
        inputs[name] = Input(
            name, str(spec.get("about", "")), spec.get("find"), spec.get("default"), kind
        )
    raw_groups = data.get("groups") or {}
    if not isinstance(raw_groups, dict) or not raw_groups:
        raise fail("no [groups.NAME] tables")
    groups: dict[str, Group] = {}
    for name, spec in raw_groups.items():
        steps = spec.get("steps") if isinstance(spec, dict) else None
        if isinstance(steps, str):  # the steps of another group
            if steps not in raw_groups or isinstance(raw_groups[steps].get("steps"), str):
                raise fail(f"group {name!r}: steps = {steps!r} names no group with steps")
            steps = raw_groups[steps]["steps"]
        if not isinstance(steps, list) or not steps:
            raise fail(f"group {name!r} has no steps")
        parsed = []
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or not isinstance(step.get("cmd"), str):
                raise fail(f'group {name!r}, step {i + 1}: expected {{ cmd = "mmemo ..." }}')
            if not step["cmd"].startswith("mmemo "):
                raise fail(f"group {name!r}, step {i + 1}: a command starts with 'mmemo '")
            for placeholder in PLACEHOLDER.findall(step["cmd"]):
                if placeholder not in inputs:
                    raise fail(
                        f"group {name!r}, step {i + 1}: unknown input {{{placeholder}}}; "
                        f"declared: {', '.join(inputs) or 'none'}"
                    )
            parsed.append(Step(step["cmd"], tuple(step.get("makes", ()))))
        groups[name] = Group(name, str(spec.get("about", "")), tuple(parsed))
    raw_cells = data.get("cells")
    if not isinstance(raw_cells, list) or not raw_cells:
        raise fail("no [[cells]]")
    cells = []
    fields = {
        "table": str,
        "row": str,
        "column": str,
        "value": (int, float),
        "tolerance": (int, float),
        "group": str,
        "run": str,
        "metric": str,
    }
    for i, raw in enumerate(raw_cells):
        where = f"cell {i + 1}"
        missing = [k for k in fields if k not in raw]
        if missing:
            raise fail(f"{where} lacks {', '.join(missing)}")
        for key, kind in fields.items():
            if not isinstance(raw[key], kind) or isinstance(raw[key], bool):
                raise fail(f"{where}: {key} = {raw[key]!r} is not a {_kind(kind)}")
        cell = Cell(**{k: raw[k] for k in fields})
        where = f"cell {i + 1} ({cell.label})"
        if cell.group not in groups:
            raise fail(f"{where}: unknown group {cell.group!r}; groups: {', '.join(groups)}")
        if cell.tolerance < 0 or not math.isfinite(cell.tolerance):
            raise fail(f"{where}: tolerance must be a number >= 0")
        problem = _metric_problem(cell.metric)
        if problem:
            raise fail(f"{where}: {problem}")
        cells.append(cell)
    return Paper(
        key=paper["key"],
        title=str(paper.get("title", "")),
        citation=paper["citation"],
        source=source,
        inputs=inputs,
        groups=groups,
        cells=tuple(cells),
    )


def _kind(kind: type | tuple[type, ...]) -> str:
    return "number" if isinstance(kind, tuple) else "text"


def _metric_problem(metric: str) -> str | None:
    if metric in RUN_METRICS:
        return None
    name, _, label = metric.partition(":")
    if name in CLASS_METRICS and label in EMOTIONS:
        return None
    if name in CLASS_METRICS:
        return f"metric {metric!r}: unknown class {label!r}; expected one of {', '.join(EMOTIONS)}"
    return (
        f"unknown metric {metric!r}; expected {', '.join(RUN_METRICS)} or "
        f"{'|'.join(CLASS_METRICS)}:LABEL{did_you_mean(name, RUN_METRICS + CLASS_METRICS)}"
    )


# ------------------------------------------------------------------------------------- check


def check_cells(store: Store, paper: Paper, groups: Sequence[str]) -> Check:
    """Every cell of ``groups`` beside the store's value (``missing`` when the run is not in
    the store, or not complete)."""
    from mmemo.reports.report import summarize_matching

    cells = [c for c in paper.cells if c.group in groups]
    with store.session() as s:
        complete = {r[0] for r in s.fetch("SELECT name FROM runs WHERE status = 'complete'")}
    wanted = sorted({c.run for c in cells if c.run in complete})
    summaries = (
        {run.name: summary for run, summary in summarize_matching(store, wanted)} if wanted else {}
    )
    check = Check()
    for cell in cells:
        summary = summaries.get(cell.run)
        if summary is None:
            check.results.append(CellResult(cell, None, "missing", f"no run '{cell.run}'"))
            continue
        value = _metric(summary, cell.metric)
        if value is None or math.isnan(value):
            check.results.append(CellResult(cell, None, "missing", "undefined in the store"))
            continue
        ok = abs(value - cell.value) <= cell.tolerance + 1e-9
        check.results.append(CellResult(cell, value, "ok" if ok else "mismatch"))
    return check


def _metric(summary: Any, metric: str) -> float | None:
    if metric == "accuracy":
        return float(summary.accuracy)
    if metric == "ci95":
        return float(summary.ci95)
    name, _, label = metric.partition(":")
    return summary.per_class.get(label, {}).get(name)


__all__ = [
    "Cell",
    "CellResult",
    "Check",
    "Group",
    "Input",
    "Paper",
    "Step",
    "builtin_papers",
    "check_cells",
    "load_paper",
]
