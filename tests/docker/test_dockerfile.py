"""The GPU image's Dockerfile stays valid: a CUDA base, the project's own sources, a
non-root user, the store and model cache as volumes, `mmemo` as entrypoint. (No Docker
engine runs here, so it is parsed, not built.)"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    lines, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += " " + line.rstrip("\\").strip() if current else line.rstrip("\\").strip()
        if not line.endswith("\\"):
            lines.append(current)
            current = ""
    assert not current, "a continued line never ends"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_instructions_are_known_and_in_order() -> None:
    known = {"ARG", "FROM", "ENV", "RUN", "COPY", "USER", "WORKDIR", "VOLUME", "ENTRYPOINT", "CMD"}
    instructions = _instructions()
    assert {kind for kind, _ in instructions} <= known
    kinds = [kind for kind, _ in instructions]
    assert kinds.index("FROM") < kinds.index("RUN")
    base_image = next(args for kind, args in instructions if kind == "ARG")
    assert base_image.startswith("CUDA_IMAGE=nvidia/cuda:")
    assert next(args for kind, args in instructions if kind == "FROM") == "${CUDA_IMAGE}"


def test_image_copies_only_what_exists_and_runs_as_a_user() -> None:
    instructions = _instructions()
    for kind, args in instructions:
        if kind == "COPY":
            *sources, _ = shlex.split(args)
            for source in sources:
                assert (ROOT / source).exists(), source
    users = [args for kind, args in instructions if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    volumes = json.loads(next(args for kind, args in instructions if kind == "VOLUME"))
    assert "/store" in volumes
    entrypoint = json.loads(next(args for kind, args in instructions if kind == "ENTRYPOINT"))
    assert entrypoint[0].endswith("/mmemo")
