"""Step 2 of ``mmemo reproduce``: a paper's recipes as command lines, its inputs found.

A paper's commands name their inputs as ``{NAME}`` (:data:`mmemo.reports.reproduce.PLACEHOLDER`).
:func:`resolve_inputs` finds each one (given on the command line, under an ``--inputs`` folder,
or its default) and :func:`recipe` fills them in, leaving ``<NAME>`` where an input was found
nowhere, so that a command is never printed with a path that is not there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mmemo.errors import InputError, did_you_mean
from mmemo.reports.reproduce import PLACEHOLDER, Paper

__all__ = ["RecipeLine", "recipe", "resolve_inputs"]


def resolve_inputs(
    paper: Paper, search: Sequence[Path] = (), given: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Where each input is: ``given`` (NAME -> value) first, then the first path under a
    ``search`` folder whose path ends with the input's ``find``, then its ``default``. Inputs
    found nowhere are left out.

    Raises:
        InputError: ``given`` names an input the paper does not declare, or a path that does
            not exist (an input of kind ``path``); a ``search`` folder does not exist. A
            command is never printed with a path that is not there.
    """
    given = dict(given or {})
    for folder in search:
        if not Path(folder).expanduser().is_dir():
            what = "is not a folder" if Path(folder).expanduser().exists() else "no such folder"
            raise InputError(f"--inputs {folder}: {what} ({Path(folder).absolute()})")
    for name, value in given.items():
        if name not in paper.inputs:
            raise InputError(
                f"--input {name}: {paper.key} has no input {name!r}; expected one of "
                f"{', '.join(paper.inputs)}{did_you_mean(name, paper.inputs)}"
            )
        if paper.inputs[name].kind == "path" and not Path(value).expanduser().exists():
            raise InputError(
                f"--input {name}={value}: no such file or folder ({Path(value).absolute()})"
            )
    found = {
        name: str(Path(value).expanduser()) if paper.inputs[name].kind == "path" else value
        for name, value in given.items()
    }
    for name, spec in paper.inputs.items():
        if name in found:
            continue
        if spec.find:
            hit = _find(spec.find, search)
            if hit is not None:
                found[name] = str(hit)
                continue
        if spec.default is not None:
            found[name] = spec.default
    return found


def _find(suffix: str, folders: Sequence[Path]) -> Path | None:
    parts = Path(suffix).parts
    for folder in folders:
        folder = Path(folder).expanduser()
        if Path(folder, suffix).exists():
            return Path(folder, suffix)
        for hit in sorted(folder.rglob(parts[-1])):
            if hit.parts[-len(parts) :] == parts:
                return hit
    return None


@dataclass(frozen=True)
class RecipeLine:
    """One command of the chosen groups, with what it needs and makes."""

    group: str
    cmd: str
    makes: tuple[str, ...]
    missing: tuple[str, ...]  # inputs not found: the command keeps <NAME> for them


def recipe(paper: Paper, groups: Sequence[str], inputs: Mapping[str, str]) -> list[RecipeLine]:
    """The commands of ``groups`` in order, each once (a step shared by two groups, such as an
    ingest, is listed under the first), with the inputs filled in."""
    import shlex

    seen: set[str] = set()
    lines = []
    for name in groups:
        for step in paper.groups[name].steps:
            if step.cmd in seen:
                continue
            seen.add(step.cmd)
            missing = tuple(p for p in PLACEHOLDER.findall(step.cmd) if p not in inputs)

            def fill(match: re.Match[str], cmd: str = step.cmd) -> str:
                key = match.group(1)
                if key not in inputs:
                    return f"<{key}>"
                # A word of its own is quoted for the shell; inside a quoted SQL text it is not.
                alone = cmd[match.start() - 1] == " " and cmd[match.end() :][:1] in ("", " ")
                return shlex.quote(inputs[key]) if alone else inputs[key]

            lines.append(RecipeLine(name, PLACEHOLDER.sub(fill, step.cmd), step.makes, missing))
    return lines
