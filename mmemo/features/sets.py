"""Writing feature sets to the store: versioning by fingerprint, chunked (resumable) commits,
shards. Reading them back is :mod:`.loading`.

A feature set is one registry row per (name, version) plus rows in a lake table tagged with its
id. It is identified by a fingerprint of what made it (kind, parameters, model revision, the
clips and their content hashes, mmemo's version): asking again for the same fingerprint is a
no-op, different content under an existing name becomes a new version, and a complete version
is never modified. Long jobs commit chunks while the entry is ``running``; re-running the same
command resumes a running entry whose process is gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

import mmemo
from mmemo.errors import InputError
from mmemo.features.kinds import feature_kind
from mmemo.hashing import sha256_json
from mmemo.scheduler import Slice as Shard  # noqa: F401 - --shard I/N
from mmemo.sqltext import qualified
from mmemo.store.lifecycle import (
    commit_tables,
    complete,
    discard,
    join_or_create,
    new_entry,
    tag_tables,
    take_over,
)
from mmemo.store.schema import FeatureSet
from mmemo.store.store import Session, Store
from mmemo.store.units import (
    claim_units,
    finish_units,
    finished_units,
    units_of,
)

_PLAIN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
#: A plain name: that of a set made whole, or the NAME (family) of per-layer sets.
_FAMILY = re.compile(rf"^{_PLAIN}$")
#: Any set's name: ``NAME``, or ``NAME/layer=L`` (:func:`layer_set_name`). It only validates:
#: a set's family and layer are columns of its record, never read back from its name.
_NAME = re.compile(rf"^{_PLAIN}(?:/layer=[A-Za-z0-9_]+)?$")


def fingerprint(kind: str, params: dict[str, Any], clip_keys: list[tuple[str, Any]]) -> str:
    """sha256 of what makes a feature set: kind, parameters, clips with their content hashes."""
    payload = {
        "kind": kind,
        "params": params,
        "clips": sorted(clip_keys),
        "mmemo": mmemo.__version__,
    }
    return sha256_json(payload)


def check_name(name: str) -> None:
    """Refuse a name no feature set can have (the name of a set to look up, or to make)."""
    if not _NAME.match(name or ""):
        raise InputError(
            f"invalid feature set name {name!r}: use letters, digits, '_', '-' and '.' "
            "(and a '/layer=L' suffix)"
        )


@dataclass(frozen=True)
class EncoderLayer:
    """Which layer of which encoder a feature set holds: columns of its registry record, so
    that probe grids, ``plot layers`` and the progress of ``embed --layers`` query them
    instead of parsing names.

    Attributes:
        encoder: The model id or folder of an embedding set; None for other sets.
        layer: ``conv``, ``1``, ...: the set is this layer of an encoder.
        pooling: ``mean`` or ``mean+std`` (embeddings).
        family: The NAME of a set named ``NAME/layer=L`` (the name given to
            ``embed --layers`` or ``import features --layer``); None for a set named alone.
    """

    encoder: str | None = None
    layer: str | None = None
    pooling: str | None = None
    family: str | None = None

    def columns(self) -> dict[str, str | None]:
        """The record's columns (``feature_sets`` has one per attribute, of the same name)."""
        return asdict(self)


def layer_set_name(family: str, layer: str | int) -> str:
    """``NAME/layer=L``, the one place the form is written: the name of layer ``layer`` of
    the family ``family`` (the sets of ``embed --layers`` and ``import features --layer``),
    and of a probe grid's run on it."""
    return f"{family}/layer={layer}"


def check_family(family: str) -> None:
    """Refuse a family name (``--name`` of ``embed --layers``, ``import features --layer``)
    that is invalid or already names a layer.

    Raises:
        InputError: naming the name.
    """
    check_name(family)
    if not _FAMILY.match(family):
        raise InputError(
            f"--name {family!r} already names a layer; give the family's name alone "
            "(NAME with --layers L or --layer L makes NAME/layer=L)"
        )


def check_new_name(name: str, of: EncoderLayer | None) -> None:
    """Refuse a name a new set cannot get: an invalid one, and a ``NAME/layer=L`` name
    given alone. A set so named that recorded no family would not be one layer of NAME to
    a probe grid, ``plot layers`` or ``mmemo jobs``, so such names are made from the family's
    name and the layer (:func:`layer_set_name`); a set of a family gets no other name.

    Raises:
        InputError: naming the name and how to make a per-layer set.
    """
    if of is not None and of.family is not None:
        check_family(of.family)
        if of.layer is None or name != layer_set_name(of.family, of.layer):
            raise ValueError(f"feature set {name!r} is no layer of family {of.family!r}")
    check_name(name)
    if (of is None or of.family is None) and not _FAMILY.match(name):
        raise InputError(
            f"feature set name {name!r} names one layer of a family of sets; make it from "
            "the family's name: `mmemo embed MODEL --name NAME --layers L` or "
            "`mmemo import features FILE --name NAME --layer L`"
        )


@dataclass
class FeatureJob:
    """A feature set being made (or found already made)."""

    id: int
    name: str
    version: int
    existing: bool = False
    resumed: bool = False
    done: set[str] = field(default_factory=set)


def begin_feature_set(
    store: Store,
    *,
    name: str,
    kind: str,
    params: dict[str, Any],
    inputs: dict[str, Any],
    clip_keys: list[tuple[str, Any]],
    shard: Shard | None = None,
    of: EncoderLayer | None = None,
) -> FeatureJob:
    """Find the complete set with this fingerprint, resume an abandoned one, or start one.

    With ``shard``, a set another shard is making is joined rather than refused. ``of``,
    the encoder layer the set holds, goes into the columns of a set it makes. It is not
    fingerprinted: an embedding's parameters already hold its model, layer and pooling, and
    sets of another family or layer have another name (:func:`layer_set_name`).

    Raises:
        InputError: a name a new set cannot get (:func:`check_new_name`).
    """
    check_new_name(name, of)
    fp = fingerprint(kind, params, clip_keys)
    fields = {"name": name, "kind": kind, "fingerprint": fp, "params": params, "inputs": inputs}
    fields |= (of or EncoderLayer()).columns()
    return join_or_create(lambda: _begin(store, fields, shard))


def find_complete(
    store: Store,
    *,
    name: str,
    kind: str,
    clip_keys: list[tuple[str, Any]] | Callable[[], list[tuple[str, Any]]],
    accept: Callable[[FeatureSet], bool] | None = None,
    session: Session | None = None,
) -> FeatureSet | None:
    """A complete set ``name`` whose fingerprint, recomputed from its own stored parameters
    and the given clips, matches: the check a re-run makes before any expensive work (loading
    a model, parsing files), so that a run with nothing to do returns at once. ``accept``
    adds what the parameters alone cannot tell (e.g. that the checkpoint on disk is the one
    the stored revision names). Read-only (in ``session`` when given, else in one of its own);
    None when no set matches.

    ``clip_keys`` may be a function that computes them (e.g. by hashing files): it is called
    once, after the registry read and only when a complete set named ``name`` exists, so a
    first run pays nothing for the check.
    """
    check_name(name)
    if session is None:
        with store.session() as s:
            candidates = _complete_sets(s, name, kind)
    else:
        candidates = _complete_sets(session, name, kind)
    if not candidates:
        return None
    keys = clip_keys() if callable(clip_keys) else clip_keys
    for fs in candidates:
        if fingerprint(kind, fs.params, keys) != fs.fingerprint:
            continue
        if accept is None or accept(fs):
            return fs
    return None


def _complete_sets(session: Session, name: str, kind: str) -> list[FeatureSet]:
    """The complete versions of ``name`` of ``kind``, newest first, detached from the ORM."""
    with session.orm() as orm:
        query = (
            sa.select(FeatureSet)
            .where(
                FeatureSet.name == name,
                FeatureSet.kind == kind,
                FeatureSet.status == "complete",
            )
            .order_by(FeatureSet.version.desc())
        )
        found = list(orm.scalars(query))
        orm.expunge_all()
    return found


def _begin(store: Store, fields: dict[str, Any], shard: Shard | None) -> FeatureJob:
    """One attempt of :func:`begin_feature_set`. ``fields`` are the columns of the set it
    would make but its version (name, kind, fingerprint, parameters, inputs, encoder layer):
    they go to the registry row as they are, so only :func:`begin_feature_set` lists them."""
    name, kind, fp = fields["name"], fields["kind"], fields["fingerprint"]
    with store.session(write=True) as s:
        with s.orm() as orm:
            # one read for both the set to join and the next version: on a shared registry
            # (read committed) a second read could see a set another shard has just made, and
            # start a second version beside it instead of joining it; with one read, a set made
            # meanwhile takes the same version, and the unique (name, version) makes this
            # attempt fail and join it on the retry (join_or_create)
            versions = list(orm.scalars(sa.select(FeatureSet).where(FeatureSet.name == name)))
            same = [fs for fs in versions if fs.fingerprint == fp]
            for fs in same:
                if fs.status == "complete":
                    return FeatureJob(fs.id, name, fs.version, existing=True)
            fs = next((fs for fs in same if fs.status == "running"), None)
            resumed = fs is not None
            if fs is None:
                version = max((v.version for v in versions), default=0) + 1
                fs = new_entry("feature_sets", version=version, **fields)
                orm.add(fs)
                orm.flush()
            else:  # shards of one set work side by side; a lone job takes over a dead one's
                what = f"feature set '{name}' v{fs.version}"
                take_over(orm, fs, what, join_live=shard is not None)
            if shard is not None:
                _claim_shard(orm, fs, shard)
            orm.commit()
            job = FeatureJob(fs.id, name, fs.version, resumed=resumed)
        if resumed:
            found = feature_kind(kind)
            job.done = _done_clips(s, (found.table, *found.older_tables), job.id)
    return job


def _claim_shard(orm, fs: FeatureSet, shard: Shard) -> None:
    counts = {r.shards for r in units_of(orm, "feature_sets", fs.id).values()}
    if counts - {shard.count}:
        raise InputError(
            f"feature set '{fs.name}' v{fs.version} is being made in {min(counts)} shards; "
            f"--shard {shard} does not match"
        )
    claim_units(
        orm,
        "feature_sets",
        fs.id,
        [shard.index],
        lambda _: f"shard {shard} of feature set '{fs.name}' v{fs.version}",
        shards=shard.count,
    )


def _done_clips(session: Session, tables: tuple[str, ...], feature_set_id: int) -> set[str]:
    """Clips that rows of the set's lake ``tables`` (those this lake has) already hold."""
    existing = set(session.lake_tables())
    done: set[str] = set()
    for table in (t for t in tables if t in existing):
        rows = session.con.execute(
            f"SELECT DISTINCT clip_id FROM {qualified('lake', table)} WHERE feature_set_id = ?",
            [feature_set_id],
        ).fetchall()
        done |= {r[0] for r in rows}
    return done


def commit_rows(store: Store, job: FeatureJob, tables: dict[str, pa.Table], note: str) -> int:
    """Append rows (tagged with the job's id) to lake tables, all in one snapshot."""
    tagged = tag_tables(tables, "feature_set_id", job.id)
    with store.session(write=True) as s:
        return commit_tables(s, f"feature set {job.id} '{job.name}' v{job.version}: {note}", tagged)


def finish_feature_set(store: Store, job: FeatureJob, *, dim: int | None, n_clips: int) -> int:
    """Mark the set complete at the current lake snapshot; return that snapshot."""
    with store.session(write=True) as s:
        snapshot = s.current_snapshot()
        complete(s, "feature_sets", job.id, snapshot, dim=dim, n_clips=n_clips)
    return snapshot


def finish_shard(
    store: Store, job: FeatureJob, shard: Shard, *, dim: int | None, n_clips: int
) -> int | None:
    """Mark ``shard`` done (its slice is committed); complete the set once all N shards are
    (the last one to finish sees the others). Returns the snapshot, or None while other
    shards are still at work."""
    with store.session(write=True) as s:
        finish_units(s, "feature_sets", job.id, {shard.index: {}}, s.current_snapshot())
        with s.orm() as orm:
            done = finished_units(orm, "feature_sets", job.id)
    if len(done) < shard.count:
        return None
    return finish_feature_set(store, job, dim=dim, n_clips=n_clips)


def write_feature_set(
    store: Store, job: FeatureJob, tables: dict[str, pa.Table], note: str, *, dim: int, n_clips: int
) -> int:
    """Write a whole feature set at once (one snapshot) and complete it; on any failure the
    set and its rows are removed. Returns the snapshot."""
    tagged = tag_tables(tables, "feature_set_id", job.id)
    try:
        with store.session(write=True) as s:  # rows and completion: one session, in that order
            commit_tables(s, f"feature set {job.id} '{job.name}' v{job.version}: {note}", tagged)
            snapshot = s.current_snapshot()
            complete(s, "feature_sets", job.id, snapshot, dim=dim, n_clips=n_clips)
        return snapshot
    except BaseException:
        abandon_feature_set(store, job)
        raise


def abandon_feature_set(store: Store, job: FeatureJob) -> None:
    """Remove an unfinished set and its rows (a failed one-shot import)."""
    with store.session(write=True) as s:
        discard(s, "feature_sets", [job.id])
