"""SQL recipes: the named ``.sql`` files shipped with mmemo, found by name, with their
parameters bound, and labelled when they change the store.

A recipe is a file of the packaged ``sql/`` folder (:func:`mmemo.resources.sql_dir`; the wheel
holds it as ``mmemo/sql``) in one of :data:`RECIPE_FOLDERS`, with a header of ``--`` comment
lines: ``-- name: NAME``, a description, and ``-- Parameters: $NAME  -- what it is`` for each
parameter. ``mmemo sql -f`` takes:

1. a file that exists (as before), else
2. a path inside ``sql/``, with or without ``.sql`` (``analysis/accuracy_by_actor``), else
3. a recipe's file stem or ``-- name:`` (``accuracy_by_actor``), when only one recipe has it.

Parameters (``$runs``) are bound as DuckDB prepared-statement parameters: each statement that
uses some is run as ``PREPARE`` + ``EXECUTE ...(name := value)``, with the values written by
:func:`sql_value` (never formatted into the recipe's own text).

How ``--param NAME=VALUE`` is read (:func:`parse_params`, then :func:`prepare` once the recipe
is known). Grid run names hold commas (``svc/C=1,norm=minmax``), so a comma splits a value only
where a list is wanted:

1. A value is JSON when it parses as JSON (``3``, ``true``, ``["ft", "svc/C=1,norm=minmax"]``),
   otherwise its text, whole.
2. A parameter that takes one value (one whose header does not say "list", e.g. ``$run_b``)
   takes that text whole: ``--param run_b=svc/C=1,norm=minmax``. Giving it twice is refused.
3. A list parameter (its header says "list", e.g. ``$runs``) takes each ``--param`` of its
   name as one item: ``--param runs=ft --param runs=svc/C=1,norm=minmax``. One value with
   commas is also split at them (``runs=audio,aus-mlp``); an item that holds a comma is put in
   double quotes there (``runs='ft,"svc/C=1,norm=minmax"'``). One value alone is a one-item
   list.
4. An unquoted item that is the rest of a grid name cut at its comma (``norm=minmax`` after
   ``svc/C=1``) is refused, naming the fix, rather than matching no run and being dropped
   silently.
5. In a query that is not a recipe nothing says which parameters are lists: a value with
   commas is split as in 3, and a JSON string (``--param 'run="svc/C=1,norm=minmax"'``) is
   whole.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from mmemo.errors import InputError, NotFoundError
from mmemo.resources import sql_dir
from mmemo.sqltext import ident, literal

#: Folders of ``sql/`` whose files users run (``views`` and ``lake`` are the store's own DDL).
RECIPE_FOLDERS = ("analysis", "checks", "export", "fusion")

_PARAM_LINE = re.compile(r"^--\s*(?:Parameters:)?\s*\$([A-Za-z_]\w*)\s*(?:--\s*(.*))?$")
#: Statement kinds that change something: under ``--write`` each runs in its own transaction,
#: labelled with a commit message (DuckLake makes one snapshot of it when it touches the lake).
_WRITES = {"INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "MERGE_INTO", "COPY"}


@dataclass(frozen=True)
class Recipe:
    """One recipe file and what its header says."""

    path: Path
    relative: str  # e.g. "analysis/accuracy_by_actor.sql"
    name: str  # the header's "-- name:", else the file stem
    description: str
    parameters: dict[str, str] = field(default_factory=dict)  # name -> header description

    @property
    def key(self) -> str:
        """The name ``-f`` takes: the file stem."""
        return self.path.stem

    def is_list(self, parameter: str) -> bool:
        return "list" in self.parameters.get(parameter, "").lower()


def read_header(path: Path, relative: str) -> Recipe:
    """Parse a recipe's leading ``--`` comment lines."""
    name, description, parameters = path.stem, [], {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("--"):
            break
        param = _PARAM_LINE.match(line)
        text = line[2:].strip()
        if text.lower().startswith("name:"):
            name = text[5:].strip() or name
        elif param:
            parameters[param.group(1)] = (param.group(2) or "").strip()
        elif text and not text.lower().startswith(("run:", "parameters:")):
            description.append(text)
    return Recipe(path, relative, name, " ".join(description), parameters)


def list_recipes() -> list[Recipe]:
    """Every shipped recipe, by folder and file name."""
    root = sql_dir()
    recipes = []
    for folder in RECIPE_FOLDERS:
        for path in sorted((root / folder).glob("*.sql")):
            recipes.append(read_header(path, f"{folder}/{path.name}"))
    return recipes


def find_recipe(name: str) -> Recipe:
    """The recipe (or file) ``mmemo sql -f NAME`` means; see the module docstring.

    Raises:
        NotFoundError: no file and no recipe of that name (with the closest names), or a
            name that several recipes share (listing their paths).
    """
    given = Path(name).expanduser()
    if given.is_file():
        return read_header(given, str(given))
    root = sql_dir()
    relative = name.removeprefix("sql/")
    relative = relative if relative.endswith(".sql") else f"{relative}.sql"
    if "/" in relative and (root / relative).is_file():
        return read_header(root / relative, relative)
    recipes = list_recipes()
    stem = Path(relative).stem
    matches = [r for r in recipes if stem in (r.key, r.name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(r.relative.removesuffix(".sql") for r in matches)
        raise NotFoundError(f"recipe '{name}' is ambiguous; give its folder: {shown}")
    names = sorted({r.key for r in recipes})
    close = difflib.get_close_matches(stem, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise NotFoundError(
        f"no file or recipe '{name}'{hint}; recipes: {', '.join(names)} (see mmemo sql --list)"
    )


class Written(str):
    """A value written without JSON quotes: a list parameter splits it at its commas. A JSON
    string (``"svc/C=1,norm=minmax"``, quotes included) is plain ``str``: always whole."""


class Repeated(list):
    """The values of a parameter given several times (``--param runs=a --param runs=b``):
    one item each, never split. A one-value parameter refuses it."""


def parse_params(specs: list[str] | None) -> dict[str, object]:
    """``NAME=VALUE`` specs as values, each value whole: JSON when it is JSON (``3``,
    ``true``, ``["a", "b"]``), otherwise its text. A name given several times collects its
    values, in order, into a :class:`Repeated` list. Commas are split later, by
    :func:`prepare`, only where a list is wanted (see the module docstring).

    Raises:
        InputError: a spec without ``=`` or with an invalid name.
    """
    params: dict[str, object] = {}
    for spec in specs or []:
        key, sep, text = spec.partition("=")
        key = key.strip().lstrip("$")
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", key):
            raise InputError(f"--param '{spec}' is not NAME=VALUE (e.g. runs=audio,aus-mlp)")
        if key not in params:
            params[key] = _scalar(text)
            continue
        given = params[key]
        params[key] = Repeated(
            [*(given if isinstance(given, Repeated) else [given]), _scalar(text)]
        )
    return params


def _scalar(text: str) -> object:
    """JSON when ``text`` is JSON, else the text itself (:class:`Written`)."""
    try:
        return json.loads(text)
    except ValueError:
        return Written(text)


def _bind(name: str, value: object, is_list: bool | None) -> object:
    """A parsed ``--param`` value as the parameter takes it: ``is_list`` from the recipe's
    header (None for a query that is not a recipe); see the module docstring."""
    if is_list is False:
        if isinstance(value, Repeated):
            raise InputError(
                f"--param {name} is given {len(value)} times but takes one value (taken "
                "whole, commas included)"
            )
        return str(value) if isinstance(value, Written) else value
    if isinstance(value, Written):
        items = _split(name, value, repeatable=bool(is_list))
        if is_list or len(items) > 1:
            return items
        return str(items[0]) if items else str(value)
    if isinstance(value, list):
        return [str(v) if isinstance(v, Written) else v for v in value]
    return [value] if is_list else value


def _rest_of_name(item: str, quoted: bool) -> bool:
    """``norm=minmax``: a ``key=value`` with no ``/``, the tail of ``NAME/k=v,norm=minmax``."""
    return not quoted and "=" in item and "/" not in item


def _cut_off(previous: tuple[str, bool]) -> bool:
    """Whether ``previous`` cannot be the head of a grid run name (``NAME/k=v``)."""
    item, quoted = previous
    return quoted or "/" not in item or "=" not in item


def _quote(arg: str) -> str:
    return f"--param {shlex.quote(arg)}"


def _split(name: str, text: str, *, repeatable: bool) -> list[object]:
    """``a,"b,c",d`` as items (JSON-typed where they parse), refusing an unquoted item that
    is the rest of a grid run name cut at its comma (naming the fixes: one item per
    ``--param`` where the parameter is ``repeatable``, or double quotes)."""
    items: list[tuple[str, bool]] = []
    part, quoted, inside = "", False, False
    for char in text + ",":
        if char == '"':
            inside, quoted = not inside, True
        elif char == "," and not inside:
            if part.strip():
                items.append((part.strip(), quoted))
            part, quoted = "", False
        else:
            part += char
    if inside:
        raise InputError(f"--param {name}={text}: a double quote is not closed")
    for i, (item, was_quoted) in enumerate(items[1:], start=1):
        if _cut_off(items[i - 1]) or not _rest_of_name(item, was_quoted):
            continue
        rest = [item]
        for later, later_quoted in items[i + 1 :]:
            if not _rest_of_name(later, later_quoted):
                break
            rest.append(later)
        whole = ",".join([items[i - 1][0], *rest])
        one = f"give one run per --param ({_quote(f'{name}={whole}')}), or " if repeatable else ""
        quoted = _quote(f'{name}=...,"{whole}",...' if len(items) > 2 else f'{name}="{whole}"')
        raise InputError(
            f"--param {name}={text}: '{item}' is the rest of the run name '{whole}' (grid run "
            f"names hold commas); {one}put it in double quotes: {quoted}"
        )
    return [item if was_quoted else _item(item) for item, was_quoted in items]


def _item(text: str) -> object:
    """One unquoted item of a comma list: JSON where it parses (``1``), else its text."""
    value = _scalar(text)
    return str(value) if isinstance(value, Written) else value


def sql_value(value: object) -> str:
    """A SQL literal of a parameter value (strings quoted by :func:`mmemo.sqltext.literal`).

    >>> sql_value(["a", "it's"])
    "['a', 'it''s']"
    >>> sql_value(3), sql_value(True), sql_value(None)
    ('3', 'TRUE', 'NULL')
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(sql_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return literal(json.dumps(value))
    return literal(str(value))


def prepare(
    query: str,
    params: dict[str, object] | None = None,
    *,
    recipe: Recipe | None = None,
    write_message: str | None = None,
) -> str:
    """The SQL to run for ``query``: parameters bound and, with ``write_message``, every
    statement that changes something run in its own transaction labelled with that message.

    Raises:
        InputError: a parameter the query does not use, one it needs and was not given, or a
            query DuckDB cannot parse (reported by the run itself).
    """
    params = dict(params or {})
    try:
        statements = duckdb.connect().extract_statements(query)
    except duckdb.Error:
        return query  # the run reports the syntax error, with the file's name
    needed: set[str] = set()
    for statement in statements:
        needed |= set(statement.named_parameters)
    what = f"recipe '{recipe.key}'" if recipe else "the query"
    unknown = sorted(set(params) - needed)
    if unknown:
        takes = ", ".join(sorted(needed)) or "none"
        raise InputError(f"{what} has no parameter {', '.join(unknown)}; its parameters: {takes}")
    missing = sorted(needed - set(params))
    if missing:
        shown = ", ".join(_describe(p, recipe) for p in missing)
        raise InputError(f"{what} needs --param for {shown}")
    if not needed and write_message is None:
        return query
    for name in needed:  # commas split only where a list is wanted (module docstring)
        params[name] = _bind(name, params[name], recipe.is_list(name) if recipe else None)
    parts: list[str] = []
    in_transaction = False
    for n, statement in enumerate(statements):
        text = statement.query.strip().rstrip(";")
        kind = statement.type.name
        if statement.named_parameters:
            prepared = f"mmemo_param_{n}"
            args = ", ".join(
                f"{p} := {sql_value(params[p])}" for p in sorted(statement.named_parameters)
            )
            parts.append(f"PREPARE {ident(prepared)} AS {text}")
            text = f"EXECUTE {ident(prepared)}({args})"
        label = (
            None
            if write_message is None
            else f"CALL lake.set_commit_message('mmemo', {literal(write_message)})"
        )
        if kind == "TRANSACTION":
            parts.append(text)
            in_transaction = text.upper().startswith(("BEGIN", "START"))
            if in_transaction and label:
                parts.append(label)
        elif label and kind in _WRITES and not in_transaction:
            parts += ["BEGIN TRANSACTION", label, text, "COMMIT"]
        else:
            parts.append(text)
    return ";\n".join(parts)


def write_message(query: str, recipe: Recipe | None = None) -> str:
    """The commit message of snapshots a ``sql --write`` makes: the command and the recipe or
    the first line of the query that is not a comment."""
    if recipe is not None:
        return f"mmemo sql --write -f {recipe.relative.removesuffix('.sql')}"
    lines = [line.strip() for line in query.splitlines()]
    first = next((line for line in lines if line and not line.startswith("--")), "")
    if len(first) > 80:
        first = first[:79] + "…"
    return f"mmemo sql --write: {first}"


def _describe(parameter: str, recipe: Recipe | None) -> str:
    about = recipe.parameters.get(parameter) if recipe else None
    return f"${parameter} ({about})" if about else f"${parameter}"
