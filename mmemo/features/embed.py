"""``mmemo embed``: wav2vec2-family embeddings of the store's clips, resumable, versioned."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from mmemo.corpora.sources import SourceFile, read_bytes
from mmemo.errors import InputError
from mmemo.features.checkpoints import files_stamp
from mmemo.features.sets import (
    Shard,
    begin_feature_set,
    commit_rows,
    find_complete,
    finish_feature_set,
    finish_shard,
)
from mmemo.progress import NullProgress, Progress
from mmemo.store.selection import clip_where, empty_selection_error
from mmemo.store.store import Store

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


def embed_clips(
    store: Store,
    model: str,
    *,
    name: str,
    layer: str = "conv",
    pool: str = "mean",
    frames: bool = False,
    clips: str | None = None,
    revision: str | None = None,
    device: str = "auto",
    max_seconds: float = 64.0,
    chunk: int = DEFAULT_CHUNK,
    shard: Shard | None = None,
    progress: Progress | None = None,
) -> EmbedReport:
    """Embed the selected clips' audio with ``model`` into the feature set ``name``.

    Work is committed every ``chunk`` clips; after a crash or Ctrl-C the same call continues
    where it stopped and ends with the rows an uninterrupted run gives. With ``shard``, this
    process makes only its slice of the clips; the set is complete (and equal to a
    single-process run) when every shard has finished.

    Raises:
        InputError: bad options, clips without media (named), undecodable audio.
    """
    from mmemo.features.batching import extract
    from mmemo.features.wav2vec2 import Wav2Vec2Embedder

    progress = progress or NullProgress()
    parsed_layer = parse_layer(layer)
    if pool not in ("mean", "mean+std"):
        raise InputError(f"--pool {pool!r}: expected mean or mean+std")
    rows, clips_snapshot = audio_clips(store, clips)
    clip_keys = [(r[0], r[3]) for r in rows]
    stamp = files_stamp(model)
    request = {"model": str(model), "layer": parsed_layer, "pool": pool, "frames": frames}
    done = find_complete(
        store,
        name=name,
        kind="embedding",
        clip_keys=clip_keys,
        accept=lambda fs: _same_request(fs, request, stamp, revision),
    )
    if done is not None:  # nothing to do: found before loading the model
        return EmbedReport(
            name, done.version, True, False, len(rows), 0, done.dim or 0, 0.0, done.snapshot_id
        )
    embedder = Wav2Vec2Embedder(model, revision=revision, device=device)
    params = {
        "model": str(model),
        "revision": embedder.info.get("revision"),
        "layer": parsed_layer,
        "pool": pool,
        "frames": frames,
        "sample_rate": embedder.sample_rate,
    }
    job = begin_feature_set(
        store,
        name=name,
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
    )
    dim = embedder.dim(parsed_layer, pool)  # type: ignore[arg-type]
    report = EmbedReport(name, job.version, job.existing, job.resumed, len(rows), 0, dim, 0.0)
    if job.existing:
        return report
    mine = shard.take(rows) if shard is not None else rows
    todo = [r for r in mine if r[0] not in job.done]
    order = {r[0]: i for i, r in enumerate(rows)}
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="mmemo-embed-") as tmp,
        progress.task(
            f"embedding ({'resuming, ' if job.resumed else ''}{len(todo)} clips)", len(todo)
        ) as task,
    ):
        decoded = decode_clips(todo, Path(tmp))
        buffer: list[tuple[str, object]] = []
        for clip_id, emb in extract(
            embedder,
            decoded,
            layer=parsed_layer,  # type: ignore[arg-type]
            pool=pool,  # type: ignore[arg-type]
            frames=frames,
            max_seconds=max_seconds,
            on_batch=lambda n, _seconds: task.advance(n),  # the bar moves per batch
        ):
            buffer.append((clip_id, emb))
            if len(buffer) >= chunk:
                _commit(store, job, buffer, frames, order)
                report.computed += len(buffer)
                buffer = []
        if buffer:
            _commit(store, job, buffer, frames, order)
            report.computed += len(buffer)
    report.seconds = time.perf_counter() - started
    if shard is None:
        report.snapshot_id = finish_feature_set(store, job, dim=dim, n_clips=len(rows))
    else:
        report.snapshot_id = finish_shard(store, job, shard, dim=dim, n_clips=len(rows))
    return report


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
        where = clip_where(s, clips)
        rows = s.fetch(
            f"SELECT clip_id, path, member, content_hash FROM clips "
            f"WHERE has_audio AND ({where}) ORDER BY clip_id"
        )
        if not rows:
            (selected,) = s.fetch(f"SELECT count(*) FROM clips WHERE {where}")[0]
            if not selected:
                raise empty_selection_error(s, clips)
            raise InputError(
                f"--clips {clips or 'all'!r} selects {selected} clip(s), none with audio"
            )
        snapshot = s.current_snapshot()
    nameless = [r[0] for r in rows if r[1] is None]
    if nameless:
        shown = ", ".join(nameless[:5]) + (
            f" and {len(nameless) - 5} more" if len(nameless) > 5 else ""
        )
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
