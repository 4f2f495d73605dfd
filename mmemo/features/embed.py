"""``mmemo embed``: encoder embeddings of the store's clips (one feature set per layer, every
layer from one forward pass), resumable, versioned."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mmemo.corpora.sources import SourceFile, read_bytes
from mmemo.errors import InputError, listing
from mmemo.features.checkpoints import files_stamp, resolve_checkpoint
from mmemo.features.encoders import EncoderShape
from mmemo.features.sets import (
    EncoderLayer,
    FeatureJob,
    Shard,
    begin_feature_set,
    check_family,
    check_new_name,
    commit_rows,
    find_complete,
    finish_feature_set,
    finish_shard,
    layer_set_name,
)
from mmemo.progress import NullProgress, Progress
from mmemo.specs import JobSpec
from mmemo.store.selection import clip_where, empty_selection_error
from mmemo.store.store import Session, Store

if TYPE_CHECKING:  # numpy and pyarrow load only when there is work (a no-op re-run skips them)
    import numpy as np

DEFAULT_CHUNK = 256


@dataclass
class EmbedReport:
    name: str
    version: int
    existing: bool
    resumed: bool
    clips: int
    computed: int
    dim: int
    seconds: float
    snapshot_id: int | None = None  # None: a shard whose set waits for other shards

    @property
    def complete(self) -> bool:
        return self.existing or self.snapshot_id is not None


def parse_layer(layer: str) -> str | int:
    """``conv`` / ``conv_raw`` or a transformer layer number."""
    if layer in ("conv", "conv_raw"):
        return layer
    if layer.isdigit() and int(layer) >= 1:
        return int(layer)
    raise InputError(f"--layer {layer!r}: expected conv, conv_raw or a layer number (1, 2, ...)")


def parse_layers(spec: str, shape: EncoderShape) -> list[str | int]:
    """``--layers``: ``all``, or a comma list of ``conv``, ``conv_raw``, ``N`` and ``A-B``
    ranges, checked against the model's layers; duplicates are dropped, order is kept."""
    if spec.strip() == "all":
        return list(shape.all_layers())
    out: list[str | int] = []
    for part in (p.strip() for p in spec.split(",")):
        first, dash, last = part.partition("-")
        if dash and first.isdigit() and last.isdigit() and 1 <= int(first) <= int(last):
            out.extend(range(int(first), int(last) + 1))
        elif part in ("conv", "conv_raw") and shape.has_conv or part.isdigit() and int(part) >= 1:
            out.append(parse_layer(part))
        else:
            raise InputError(
                f"--layers {spec!r}: bad item {part!r}; expected all or a comma list of "
                f"{shape.layer_names()} and ranges A-B"
            )
    bad = [x for x in out if isinstance(x, int) and x > shape.num_layers]
    if bad:
        raise InputError(
            f"--layers {spec!r}: layer {bad[0]} is beyond the model; valid layers: "
            f"{shape.layer_names()}"
        )
    return list(dict.fromkeys(out))


@dataclass(frozen=True, kw_only=True)
class EmbedSpec(JobSpec):
    """``mmemo embed``: the selected clips' audio through the encoder ``model`` (hub id or
    folder) into the feature set ``name`` at ``layer`` (``conv``, ``conv_raw`` or N), or into
    one set ``name/layer=L`` per layer of ``layers`` (``conv,1-24``, ``all``) from one
    forward pass; pooled over time by ``pool`` (``mean``, ``mean+std``), with frame-level
    vectors too when ``frames``; ``max_seconds`` of audio per batch, a commit every ``chunk``
    clips (what an interrupted run keeps)."""

    job: ClassVar[str] = "embed"
    unit: ClassVar[str] = "shard"

    model: str
    layer: str = "conv"
    layers: str | None = None
    pool: str = "mean"
    frames: bool = False
    clips: str | None = None
    revision: str | None = None
    device: str = "auto"
    max_seconds: float = 64.0
    chunk: int = DEFAULT_CHUNK

    def run(
        self, store: Store, *, part: Shard | None = None, progress: Progress | None = None
    ) -> list[EmbedReport]:
        if self.layers is not None:
            return embed_layers(store, self, shard=part, progress=progress)
        return [embed_clips(store, self, shard=part, progress=progress)]


def embed_clips(
    store: Store, spec: EmbedSpec, *, shard: Shard | None = None, progress: Progress | None = None
) -> EmbedReport:
    """Embed the selected clips' audio with ``spec.model`` into the feature set ``spec.name``.

    The family of the model (wav2vec2/XLSR, HuBERT, WavLM, data2vec-audio, Whisper) comes
    from its config (:mod:`mmemo.features.encoders`). Work is committed every ``spec.chunk``
    clips; after a crash or Ctrl-C the same call continues where it stopped and ends with the
    rows an uninterrupted run gives. With ``shard``, this process makes only its slice of the
    clips; the set is complete (and equal to a single-process run) when every shard has
    finished.

    Raises:
        InputError: bad options, clips without media (named), undecodable audio.
    """
    (report,) = _embed(store, spec, {spec.name: parse_layer(spec.layer)}, None, shard, progress)
    return report


def embed_layers(
    store: Store, spec: EmbedSpec, *, shard: Shard | None = None, progress: Progress | None = None
) -> list[EmbedReport]:
    """Embed the selected clips at every layer of ``spec.layers`` (``conv,1-24``, ``all``) in
    ONE forward pass per batch, into one feature set per layer named ``NAME/layer=L``, whose
    record names NAME its family and L its layer.

    Each set holds what :func:`embed_clips` with ``layer=L`` makes (same parameters,
    fingerprint and vectors); sets already complete are skipped before the model loads, and
    an interrupted call resumes every set where it stopped.

    Raises:
        InputError: a bad layer list (naming the model's layers) or any error of
            :func:`embed_clips`.
    """
    from mmemo.features.encoders import encoder_shape

    check_family(spec.name)
    wanted = parse_layers(spec.layers or "", encoder_shape(spec.model, revision=spec.revision))
    sets = {layer_set_name(spec.name, layer): layer for layer in wanted}
    return _embed(store, spec, sets, spec.name, shard, progress)


def _embed(
    store: Store,
    spec: EmbedSpec,
    sets: dict[str, str | int],
    family: str | None,
    shard: Shard | None,
    progress: Progress | None,
) -> list[EmbedReport]:
    """Make the feature sets ``sets`` (name → layer) from one pass over the clips: the layers
    of ``family`` (``embed --layers``), or one set named alone (``family`` None)."""
    from mmemo.features.encoders import load_encoder

    progress = progress or NullProgress()
    pool, frames, clips, revision = spec.pool, spec.frames, spec.clips, spec.revision
    if pool not in ("mean", "mean+std"):
        raise InputError(f"--pool {pool!r}: expected mean or mean+std")
    model = resolve_checkpoint(spec.model, revision)  # missing folder, unreachable hub: one line
    stamp = files_stamp(model)
    reports: dict[str, EmbedReport] = {}
    with store.session() as s:  # one session for the clips and the finished sets
        rows, clips_snapshot = _audio_clips(s, clips)
        clip_keys = [(r[0], r[3]) for r in rows]
        for set_name, layer in sets.items():
            request = {"model": str(model), "layer": layer, "pool": pool, "frames": frames}
            done = find_complete(
                store,
                name=set_name,
                kind="embedding",
                clip_keys=clip_keys,
                accept=lambda fs, request=request: _same_request(fs, request, stamp, revision),
                session=s,
            )
            if done is not None:  # nothing to do: found before loading the model
                reports[set_name] = EmbedReport(
                    set_name,
                    done.version,
                    True,
                    False,
                    len(rows),
                    0,
                    done.dim or 0,
                    0.0,
                    done.snapshot_id,
                )
    if len(reports) == len(sets):
        return [reports[n] for n in sets]
    layer_of = {
        set_name: EncoderLayer(encoder=str(model), layer=str(layer), pooling=pool, family=family)
        for set_name, layer in sets.items()
    }
    for set_name in (n for n in sets if n not in reports):  # refused before the model loads
        check_new_name(set_name, layer_of[set_name])
    embedder = load_encoder(model, revision=revision, device=spec.device)
    jobs: dict[str, tuple[FeatureJob, str | int, int]] = {}
    for set_name, layer in sets.items():
        if set_name in reports:
            continue
        dim = embedder.dim(layer, pool)  # type: ignore[arg-type]
        params = {
            "model": str(model),
            "revision": embedder.info.get("revision"),
            "layer": layer,
            "pool": pool,
            "frames": frames,
            "sample_rate": embedder.sample_rate,
        }
        job = begin_feature_set(
            store,
            name=set_name,
            kind="embedding",
            params=params,
            inputs={
                "clips": clips or "audio",
                "clips_snapshot": clips_snapshot,
                "device": embedder.info.get("device"),
                "model": embedder.info,
                "checkpoint_files": stamp,
            },
            clip_keys=clip_keys,
            shard=shard,
            of=layer_of[set_name],
        )
        reports[set_name] = EmbedReport(
            set_name, job.version, job.existing, job.resumed, len(rows), 0, dim, 0.0
        )
        if not job.existing:
            jobs[set_name] = (job, layer, dim)
    if jobs:
        _run_jobs(store, embedder, (rows, jobs, reports), spec, shard, progress)
    return [reports[n] for n in sets]


def _run_jobs(
    store: Store,
    embedder,
    work: tuple[list[tuple], dict[str, tuple[FeatureJob, str | int, int]], dict[str, EmbedReport]],
    spec: EmbedSpec,
    shard: Shard | None,
    progress: Progress,
) -> None:
    """Embed the clips some job still lacks, every job's layer in the same forward pass
    (``work``: the clips, the jobs by set name, their reports)."""
    from mmemo.features.batching import extract_layers

    rows, jobs, reports = work
    pool, frames, max_seconds, chunk = spec.pool, spec.frames, spec.max_seconds, spec.chunk
    mine = shard.take(rows) if shard is not None else rows
    todo = [r for r in mine if any(r[0] not in job.done for job, _, _ in jobs.values())]
    layers = list(dict.fromkeys(layer for _, layer, _ in jobs.values()))
    order = {r[0]: i for i, r in enumerate(rows)}
    resumed = any(job.resumed for job, _, _ in jobs.values())
    started = time.perf_counter()

    def commit(buffer: list[tuple[str, dict]]) -> None:
        for set_name, (job, layer, _) in jobs.items():
            part = [(c, by_layer[layer]) for c, by_layer in buffer if c not in job.done]
            if part:
                _commit(store, job, part, frames, order)
                reports[set_name].computed += len(part)

    with (
        tempfile.TemporaryDirectory(prefix="mmemo-embed-") as tmp,
        progress.task(
            f"embedding ({'resuming, ' if resumed else ''}{len(todo)} clips)", len(todo)
        ) as task,
    ):
        decoded = decode_clips(todo, Path(tmp))
        buffer: list[tuple[str, dict]] = []
        for clip_id, by_layer in extract_layers(
            embedder,
            decoded,
            layers=layers,
            pool=pool,  # type: ignore[arg-type]
            frames=frames,
            max_seconds=max_seconds,
            on_batch=lambda n, _seconds: task.advance(n),  # the bar moves per batch
        ):
            buffer.append((clip_id, by_layer))
            if len(buffer) >= chunk:
                commit(buffer)
                buffer = []
        if buffer:
            commit(buffer)
    seconds = time.perf_counter() - started
    for set_name, (job, _, dim) in jobs.items():
        report = reports[set_name]
        report.seconds = seconds
        if shard is None:
            report.snapshot_id = finish_feature_set(store, job, dim=dim, n_clips=len(rows))
        else:
            report.snapshot_id = finish_shard(store, job, shard, dim=dim, n_clips=len(rows))


def _same_request(fs, request: dict, stamp: str | None, revision: str | None) -> bool:
    """Whether the complete set ``fs`` was made by this request from this checkpoint: the
    same options, and a local folder whose files are untouched since (``stamp``) or the hub
    commit the revision resolves to now."""
    from mmemo.features.checkpoints import hub_revision

    if any(fs.params.get(k) != v for k, v in request.items()):
        return False
    if stamp is not None:
        return (fs.inputs or {}).get("checkpoint_files") == stamp
    if Path(str(request["model"])).exists():  # a local folder without files: let loading fail
        return False
    return hub_revision(str(request["model"]), revision) == fs.params.get("revision")


def audio_clips(store: Store, clips: str | None) -> tuple[list[tuple], int]:
    """(clip_id, path, member, content_hash) of the selected clips with audio, and the lake
    snapshot they were read at."""
    with store.session() as s:
        return _audio_clips(s, clips)


def _audio_clips(s: Session, clips: str | None) -> tuple[list[tuple], int]:
    """:func:`audio_clips` in an open session."""
    where = clip_where(s, clips)
    rows = s.fetch(
        f"SELECT clip_id, path, member, content_hash FROM clips "
        f"WHERE has_audio AND ({where}) ORDER BY clip_id"
    )
    if not rows:
        (selected,) = s.fetch(f"SELECT count(*) FROM clips WHERE {where}")[0]
        if not selected:
            raise empty_selection_error(s, clips)
        raise InputError(f"--clips {clips or 'all'!r} selects {selected} clip(s), none with audio")
    snapshot = s.current_snapshot()
    nameless = [r[0] for r in rows if r[1] is None]
    if nameless:
        shown = listing(nameless)
        raise InputError(
            f"{len(nameless)} selected clip(s) were ingested by name only ({shown}); "
            "ingest their media files first"
        )
    return rows, snapshot


def decode_clips(rows: list[tuple], tmp: Path) -> Iterator[tuple[str, np.ndarray]]:
    from mmemo.features.audio import iter_decoded

    def paths() -> Iterator[tuple[str, Path]]:
        for clip_id, path, member, _ in rows:
            if member is None:
                yield clip_id, Path(path)
            else:  # a zip member: decoders need a real file
                local = tmp / f"{clip_id}{Path(member).suffix}"
                local.write_bytes(read_bytes(SourceFile(clip_id, Path(path), member)))
                yield clip_id, local

    yield from iter_decoded(paths())


def _commit(
    store: Store, job, buffer: list[tuple[str, object]], frames: bool, order: dict[str, int]
) -> None:
    """Append a chunk of clips: pooled vectors as float32 (lake.clip_embeddings; the model's
    own precision, so nothing is rounded) and, with ``frames``, the frame vectors."""
    import numpy as np
    import pyarrow as pa

    tables = {
        "clip_embeddings": pa.table(
            {
                "clip_id": pa.array([c for c, _ in buffer], pa.string()),
                "ordinal": pa.array([order[c] for c, _ in buffer], pa.int32()),
                "vector": pa.array(
                    [np.asarray(e.pooled, np.float32) for _, e in buffer], pa.list_(pa.float32())
                ),
            }
        )
    }
    if frames:
        ids, idx, vecs = [], [], []
        for clip_id, emb in buffer:
            for i, v in enumerate(np.asarray(emb.frames, np.float32)):
                ids.append(clip_id)
                idx.append(i)
                vecs.append(v)
        tables["frame_vectors"] = pa.table(
            {
                "clip_id": pa.array(ids, pa.string()),
                "frame": pa.array(idx, pa.int32()),
                "vector": pa.array(vecs, pa.list_(pa.float32())),
            }
        )
    commit_rows(store, job, tables, f"{len(buffer)} clip(s)")
