"""docker/compose.yaml, the team-mode stack, stays coherent: its services exist and wait for
what they need, images are pinned, the job image is the project's Dockerfile, the jobs' URLs
point at the stack's own services and carry no password, the credentials on both sides of each
connection come from the same variables, volumes are declared, and jobs get GPUs. (No Docker
engine runs here, so the file is parsed and `${VAR:-default}` interpolated here, not run.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml  # comes with the test extra (moto -> responses) and the ml extra (transformers)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
SERVICES = {"postgres", "s3", "s3-init", "init", "job"}
ONE_SHOT = {"s3-init", "init"}
MMEMO_URLS = ("MMEMO_REGISTRY", "MMEMO_CATALOG", "MMEMO_DATA")
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's interpolation: `${VAR:-default}`, `${VAR-default}`, `${VAR}`, `$VAR`, `$$`."""
    env = env or {}

    def replace(match: re.Match) -> str:
        whole, name, default = match.group(0), match.group(1) or match.group(3), match.group(2)
        if whole == "$$":
            return "$"
        if default is None:
            return env.get(name, "")
        if whole.startswith("${" + name + ":-"):
            return env.get(name) or default
        return env.get(name, default)

    return _VARIABLE.sub(replace, value)


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def dockerfile_instruction(kind: str) -> str:
    lines = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8").splitlines()
    return next(line.split(None, 1)[1] for line in lines if line.startswith(kind + " "))


def test_interpolate_follows_compose() -> None:
    assert interpolate("a${X:-d}b", {}) == "adb"
    assert interpolate("a${X:-d}b", {"X": ""}) == "adb"
    assert interpolate("a${X-d}b", {"X": ""}) == "ab"
    assert interpolate("${X}:$Y:$$Z", {"X": "1", "Y": "2"}) == "1:2:$Z"


def test_all_services_exist_and_only_the_backends_start_with_a_plain_up(services: dict) -> None:
    assert set(services) >= SERVICES
    assert {name for name, s in services.items() if not s.get("profiles")} == {
        "postgres",
        "s3",
        "s3-init",
    }


def test_pulled_images_are_pinned(services: dict) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service["image"]
        assert "$" not in image, f"{name}: image {image!r} can be swapped by a variable"
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"
    assert re.fullmatch(r"postgres:\d+(\.\d+)?(-[a-z0-9]+)?", services["postgres"]["image"])
    for name in ("s3", "s3-init"):
        assert re.search(r":RELEASE\.\d{4}-\d\d-\d\dT", services[name]["image"]), name


def test_depends_on_targets_exist_and_wait_for_health_or_completion(services: dict) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            if "healthcheck" in services[target]:
                expected = "service_healthy"
            else:
                assert target in ONE_SHOT, f"{name} depends on {target}, which has no healthcheck"
                expected = "service_completed_successfully"
            assert spec["condition"] == expected, f"{name} -> {target}"
    assert set(services["init"]["depends_on"]) == {"postgres", "s3-init"}
    assert set(services["job"]["depends_on"]) >= {"postgres", "s3"}


def test_backends_have_healthchecks_and_persistent_volumes(services: dict) -> None:
    assert "pg_isready" in json.dumps(services["postgres"]["healthcheck"]["test"])
    assert services["s3"]["healthcheck"]["test"]
    for name in ("postgres", "s3"):
        assert any(
            ":" in v and not v.startswith((".", "/", "$")) for v in services[name]["volumes"]
        ), f"{name} keeps its data in no named volume"


def test_job_image_is_built_from_the_dockerfile(services: dict) -> None:
    for name in ("init", "job"):
        build = services[name]["build"]
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context == ROOT, f"{name}: build context is {context}, not the repository"
        assert (context / build["dockerfile"]).resolve() == ROOT / "docker" / "Dockerfile"
        assert (context / build["dockerfile"]).is_file()
    entrypoint = json.loads(dockerfile_instruction("ENTRYPOINT"))
    assert services["job"]["entrypoint"] == entrypoint
    assert services["job"]["command"] == ["doctor"]


def test_job_and_init_mount_the_dockerfile_volumes(services: dict) -> None:
    declared = set(json.loads(dockerfile_instruction("VOLUME")))
    for name in ("init", "job"):
        targets = {volume.split(":")[1] for volume in services[name]["volumes"]}
        assert declared <= targets, f"{name} does not mount {declared - targets}"
        assert environment(services[name])["MMEMO_STORE"] in targets


def test_job_urls_point_at_the_stack_and_carry_no_password(services: dict) -> None:
    for name in ("init", "job"):
        env = environment(services[name])
        assert set(MMEMO_URLS) | {"AWS_ENDPOINT_URL"} <= set(env), name
        for key in (*MMEMO_URLS, "AWS_ENDPOINT_URL"):
            for team_host in ({}, {"TEAM_HOST": "gpu-a.example.org"}):
                url = urlsplit(interpolate(env[key], team_host))
                assert url.password is None, f"{name}: {key} embeds a password"
        registry = urlsplit(interpolate(env["MMEMO_REGISTRY"]))
        catalog = urlsplit(interpolate(env["MMEMO_CATALOG"]))
        endpoint = urlsplit(interpolate(env["AWS_ENDPOINT_URL"]))
        assert registry.scheme.startswith("postgresql") and registry.hostname == "postgres"
        assert catalog.scheme == "postgresql" and catalog.hostname == "postgres"
        assert urlsplit(interpolate(env["MMEMO_DATA"])).scheme == "s3"
        assert endpoint.hostname == "s3" and endpoint.port == 9000
        remote = urlsplit(interpolate(env["MMEMO_CATALOG"], {"TEAM_HOST": "gpu-a.example.org"}))
        assert remote.hostname == "gpu-a.example.org"


def test_init_creates_the_store_the_jobs_use(services: dict) -> None:
    env = environment(services["job"])
    command = services["init"]["command"]
    assert command[0] == "init"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options == {
        "--registry": env["MMEMO_REGISTRY"],
        "--catalog": env["MMEMO_CATALOG"],
        "--data": env["MMEMO_DATA"],
    }
    bucket = urlsplit(interpolate(env["MMEMO_DATA"])).hostname
    script = " ".join(services["s3-init"]["command"])
    assert re.search(rf"mc mb --ignore-existing \w+/{bucket}\b", script)
    assert "http://s3:9000" in script


def test_credentials_come_from_variables_shared_by_both_ends(services: dict) -> None:
    postgres, s3, job = (environment(services[n]) for n in ("postgres", "s3", "job"))
    pairs = [
        (postgres["POSTGRES_PASSWORD"], job["PGPASSWORD"]),
        (s3["MINIO_ROOT_USER"], job["AWS_ACCESS_KEY_ID"]),
        (s3["MINIO_ROOT_PASSWORD"], job["AWS_SECRET_ACCESS_KEY"]),
        (s3["MINIO_ROOT_USER"], environment(services["s3-init"])["MINIO_ROOT_USER"]),
        (s3["MINIO_ROOT_PASSWORD"], environment(services["s3-init"])["MINIO_ROOT_PASSWORD"]),
    ]
    for server_side, client_side in pairs:
        assert server_side == client_side
        assert re.fullmatch(r"\$\{\w+(:-[^}]*)?\}", server_side), f"{server_side!r} is literal"
    assert len(interpolate(s3["MINIO_ROOT_PASSWORD"])) >= 8  # MinIO refuses shorter ones


def test_named_volumes_are_declared_and_used(compose: dict, services: dict) -> None:
    used = set()
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source and not source.startswith((".", "/", "~", "$")):
                used.add(source)
    declared = set(compose.get("volumes") or {})
    assert used <= declared, f"undeclared volumes: {used - declared}"
    assert declared <= used, f"unused volumes: {declared - used}"


def test_job_reserves_nvidia_gpus(services: dict) -> None:
    devices = services["job"]["deploy"]["resources"]["reservations"]["devices"]
    gpu = [d for d in devices if d.get("driver") == "nvidia" and "gpu" in d["capabilities"]]
    assert gpu, "job reserves no NVIDIA GPU"
    assert gpu[0].get("count") == "all" or gpu[0].get("device_ids") or gpu[0]["count"] >= 1
