"""Feature commands: embed, features (list), export features, ingest openface, import
features, plot aus; and the ``export`` group (``export RUN`` stays short for ``export run``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mmemo.cli.common import (
    ClipsOpt,
    DeviceOpt,
    RichProgress,
    RunNameOpt,
    SetNameOpt,
    ShardOpt,
    SlurmOpt,
    SlurmOptsOpt,
    TasksOpt,
    console,
    err_console,
    open_store,
    simple_table,
    styled,
)
from mmemo.cli.jobs import submit_spec


class _ExportGroup(TyperGroup):
    """``mmemo export``: a first word that is not a subcommand is a run (``export RUN``)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


import_app = typer.Typer(help="Import features or posteriors made elsewhere.", no_args_is_help=True)
plot_app = typer.Typer(help="Figures from the store.", no_args_is_help=True)
export_app = typer.Typer(
    cls=_ExportGroup,
    help="Export a run's posteriors (`mmemo export RUN`, short for `export run RUN`) or a "
    "feature set's vectors (`mmemo export features NAME`), for analysis elsewhere.",
    no_args_is_help=True,
)


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    app.command()(embed)
    app.command("features")(list_features)
    ingest_app.command("openface")(ingest_openface)
    import_app.command("features")(import_features)
    plot_app.command("aus")(plot_aus)
    from mmemo.cli.reports import export, plot_complementarity, plot_layers, plot_runs

    plot_app.command("runs")(plot_runs)
    plot_app.command("layers")(plot_layers)
    plot_app.command("complementarity")(plot_complementarity)
    export_app.command("run")(export)
    export_app.command("features")(export_features)
    app.add_typer(import_app, name="import")
    app.add_typer(plot_app, name="plot")
    app.add_typer(export_app, name="export")


def list_features(
    ctx: typer.Context,
    sort: Annotated[
        str, typer.Option(help="newest (newest first, the default) or name (then version).")
    ] = "newest",
) -> None:
    """List the store's complete feature sets: name, version, kind, dimension, clips, whether
    it holds frames (for sequence models and NAME:mean), model, layer, pool, creation time.

    Newest first unless `--sort name`.
    """
    from mmemo.features.listing import COLUMNS, list_feature_sets

    rows, unfinished = list_feature_sets(open_store(ctx), sort)
    if not rows:
        console.print(
            "no feature sets yet: make one with `mmemo embed`, `mmemo ingest openface` "
            "or `mmemo import features`"
        )
    else:
        console.print(simple_table(None, COLUMNS, [r.cells() for r in rows]))
    if unfinished:
        console.print(
            f"{unfinished} unfinished set(s) not shown (`mmemo gc` removes abandoned ones)"
        )


def export_features(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(help="Feature set NAME, NAME@V, or NAME[@V]:mean (frame means).")
    ],
    out: Annotated[
        Path, typer.Option(help="Output file: .parquet or .csv (the extension decides).")
    ],
    with_clips: Annotated[
        bool, typer.Option("--with-clips", help="Add the clip metadata columns (clips view).")
    ] = False,
) -> None:
    """Export a feature set's vectors, one row per clip in the set's order.

    Parquet: `clip_id` and `vector` (a list, at the stored precision). CSV: `clip_id` and
    one column per dimension, `v0` ... `v{d-1}`. `--with-clips` puts the clip metadata
    columns between them.

    Example: `mmemo export features xlsr_conv --out xlsr_conv.parquet --with-clips`
    """
    from mmemo.features.export import export_features as run
    from mmemo.outputs import atomic_path, output_format, wrote

    output_format(out, None, ("parquet", "csv"))
    with atomic_path(out) as temp:
        done = run(open_store(ctx), ref, temp, with_clips=with_clips)
    console.print(wrote(out, done.rows, f"{done.ref}, {done.dim}-d vectors"))


def embed(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Argument(help="Hugging Face id or local folder (from_pretrained).")
    ],
    name: SetNameOpt,
    layer: Annotated[
        str, typer.Option(help="conv (conv encoder output, 512-d), conv_raw, or layer N.")
    ] = "conv",
    layers: Annotated[
        str | None,
        typer.Option(
            help="Several layers in one pass, e.g. conv,1-24 or all: one set NAME/layer=L each."
        ),
    ] = None,
    pool: Annotated[str, typer.Option(help="mean or mean+std over the valid frames.")] = "mean",
    frames: Annotated[bool, typer.Option(help="Also store frame-level vectors.")] = False,
    clips: ClipsOpt = None,
    revision: Annotated[str | None, typer.Option(help="Model revision (hub).")] = None,
    device: DeviceOpt = "auto",
    batch_seconds: Annotated[float, typer.Option(help="Audio seconds per batch.")] = 64.0,
    shard: ShardOpt = None,
    slurm: SlurmOpt = False,
    tasks: TasksOpt = None,
    slurm_opts: SlurmOptsOpt = None,
) -> None:
    """Embed the clips' audio with an encoder into a versioned feature set.

    The family (wav2vec2/XLSR, HuBERT, WavLM, data2vec-audio, Whisper) comes from the model's
    config. With --layers, one forward pass stores every listed layer, one feature set
    NAME/layer=L per layer.

    Resumable: re-run the same command after a crash or Ctrl-C to continue. On N hosts, run
    it with --shard 0/N ... --shard N-1/N against one team store; the set is complete when
    the last shard ends.

    Example: `mmemo embed jonatasgrosman/wav2vec2-large-xlsr-53-english --name xlsr_conv
    --clips av-speech`; `mmemo embed microsoft/wavlm-large --name wavlm --layers all`;
    `mmemo embed MODEL --name xlsr --slurm --tasks 8 --slurm-opts "--gres=gpu:1"`
    """
    from mmemo.features.embed import EmbedSpec

    spec = EmbedSpec(
        name=name,
        model=model,
        layer=layer,
        layers=layers,
        pool=pool,
        frames=frames,
        clips=clips,
        revision=revision,
        device=device,
        max_seconds=batch_seconds,
    )
    for report in _run_shards(ctx, spec, "embed", shard, slurm, tasks, slurm_opts):
        print_embed(report, shard)


def _run_shards(
    ctx: typer.Context,
    spec: Any,
    label: str,
    shard: str | None,
    slurm: bool,
    tasks: int | None,
    options: str | None,
) -> Iterable[Any]:
    """What ``embed`` and ``ingest openface`` do with their spec: submit it to Slurm as
    ``tasks`` shards (nothing to report here), or run it here, whole or the ``shard`` I/N,
    and return its reports."""
    from mmemo.errors import InputError
    from mmemo.features.sets import Shard

    if slurm:
        if tasks is None:
            raise InputError("--slurm needs --tasks N: the files or clips are split into N shards")
        submit_spec(ctx, spec, tasks=tasks, options=options)
        return ()
    sliced = Shard.parse(shard) if shard else None  # before opening the store
    return spec.run(open_store(ctx), part=sliced, progress=RichProgress(label))


def print_embed(report, shard: str | None) -> None:
    name = report.name
    if report.existing:
        console.print(f"{name} v{report.version} already holds these embeddings; nothing to do")
        return
    rate = report.computed / report.seconds if report.seconds else 0.0
    console.print(
        f"{name} v{report.version}: {report.clips} clip(s) × {report.dim}-d "
        f"({report.computed} computed{', resumed' if report.resumed else ''}, {rate:.1f} clips/s)"
        + _shard_note(shard, report.complete)
    )


def _shard_note(shard: str | None, complete: bool) -> str:
    if not shard:
        return ""
    return f"; shard {shard} done, " + (
        "set complete" if complete else "set waits for the other shards"
    )


def ingest_openface(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="CSV folders, zips or globs.")],
    name: SetNameOpt,
    min_confidence: Annotated[
        float | None, typer.Option(help="Drop frames below this face confidence.")
    ] = None,
    success_only: Annotated[bool, typer.Option(help="Keep frames with success = 1 only.")] = False,
    keep_all: Annotated[
        bool, typer.Option(help="Keep gaze, pose and landmark columns too (as a map).")
    ] = False,
    skip_bad: Annotated[bool, typer.Option(help="Skip bad files instead of failing.")] = False,
    drop_nonfinite: Annotated[
        bool,
        typer.Option(
            help="Drop frames with a NaN, inf or missing AU value (counted in the report) "
            "instead of failing on their file."
        ),
    ] = False,
    shard: ShardOpt = None,
    slurm: SlurmOpt = False,
    tasks: TasksOpt = None,
    slurm_opts: SlurmOptsOpt = None,
) -> None:
    """Ingest OpenFace 2.0 FeatureExtraction CSVs (one per video, named after its file).

    A bad file (missing or repeated column, a value that is not a number, a NaN/inf AU value,
    no frames) fails the ingest and leaves the store as it was; `--skip-bad` leaves bad files
    out, `--drop-nonfinite` only the frames with a non-finite AU value.

    Example: `mmemo ingest openface ./openface/ --name aus --success-only` (add
    `--slurm --tasks 4` to read the files in 4 Slurm array tasks)
    """
    from mmemo.features.openface import AuIngestSpec

    spec = AuIngestSpec(
        name=name,
        sources=list(sources),
        min_confidence=min_confidence,
        success_only=success_only,
        keep_all=keep_all,
        skip_bad=skip_bad,
        drop_nonfinite=drop_nonfinite,
    )
    for report in _run_shards(ctx, spec, "ingest openface", shard, slurm, tasks, slurm_opts):
        print_ingest(report, shard, drop_nonfinite)


def print_ingest(report: Any, shard: str | None, drop_nonfinite: bool) -> None:
    name = report.name
    for line in report.bad:
        err_console.print(styled(("skipped", "yellow"), f" {line}"), highlight=False)
    if report.existing:
        console.print(f"{name} v{report.version} already holds these files; nothing to do")
        return
    console.print(
        f"{name} v{report.version}: {report.clips} clip(s), {report.frames} frame(s) "
        f"({report.dropped_frames} dropped by filters"
        + (
            f"; {report.nonfinite_frames} frame(s) with NaN/inf AU values dropped)"
            if drop_nonfinite
            else ")"
        )
        + (f", snapshot {report.snapshot_id}" if report.snapshot_id is not None else "")
        + _shard_note(shard, report.snapshot_id is not None)
    )


def import_features(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or parquet, one row per clip.")],
    name: SetNameOpt,
    id_col: Annotated[str | None, typer.Option(help="Clip id column (default: guessed).")] = None,
    sep: Annotated[str | None, typer.Option(help="CSV separator (default: sniffed).")] = None,
    columns: Annotated[
        str | None, typer.Option(help="Regex of feature columns (default: all numeric).")
    ] = None,
    skip_unknown: Annotated[bool, typer.Option(help="Skip clip ids not in the store.")] = False,
    layer: Annotated[
        str | None,
        typer.Option(
            help="The encoder layer the vectors are (conv, 12): stored as the set "
            "NAME/layer=L, one layer for train static --features 'NAME/layer=*' and plot layers."
        ),
    ] = None,
) -> None:
    """Import per-clip feature vectors.

    Example: `mmemo import features openface_au_means.csv --name au_means --id-col name
    --columns 'AU.*'`; `mmemo import features xlsr_12.parquet --name xlsr --layer 12`
    """
    from mmemo.features.imported import import_features as run

    report = run(
        open_store(ctx),
        file,
        name=name,
        id_col=id_col,
        sep=sep,
        columns=columns,
        skip_unknown=skip_unknown,
        layer=layer,
    )
    if report.existing:
        console.print(f"{report.name} v{report.version} already holds this file; nothing to do")
        return
    skipped = f", {len(report.skipped_unknown)} unknown skipped" if report.skipped_unknown else ""
    console.print(
        f"{report.name} v{report.version}: {report.clips} clip(s) × {len(report.columns)} "
        f"column(s){skipped}, snapshot {report.snapshot_id}"
    )


def plot_aus(
    ctx: typer.Context,
    clip: Annotated[str, typer.Argument(help="Clip id.")],
    out: Annotated[Path, typer.Option(help="Figure file (.png or .pdf).")],
    features: Annotated[
        str | None,
        typer.Option(help="AU frame set NAME[@V] (default: the set named aus, else the only one)."),
    ] = None,
) -> None:
    """Plot the 17 AU intensity curves of one clip over time (the paper's Figure 3)."""
    from mmemo.reports.figures import plot_clip_aus

    path = plot_clip_aus(open_store(ctx), clip, out, features=features)
    console.print(f"wrote {path}")


@import_app.command("posteriors")
def import_posteriors(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="CSV or parquet files of per-clip scores.")],
    name: RunNameOpt,
    classes: Annotated[
        str,
        typer.Option(
            help="Label of each score column in order: names (any case; fear, disgusted, "
            "surprise accepted) or codes 01-08, comma-separated."
        ),
    ],
    id_col: Annotated[str | None, typer.Option(help="Clip id column (default: guessed).")] = None,
    score_cols: Annotated[
        str | None, typer.Option(help="Regex of score columns (default: numeric columns).")
    ] = None,
    fold_col: Annotated[str | None, typer.Option(help="Column holding the fold.")] = None,
    fold: Annotated[int | None, typer.Option(help="Fold of every row.")] = None,
    split_col: Annotated[str | None, typer.Option(help="Column holding train/test.")] = None,
    split: Annotated[str | None, typer.Option(help="Split of every row: train or test.")] = None,
    scheme: Annotated[str, typer.Option(help="Fold scheme the folds belong to.")] = "luna2022",
    kind: Annotated[str, typer.Option(help="logits, probs or decision.")] = "logits",
) -> None:
    """Import posteriors made elsewhere as a run (remapped to the canonical class order).

    Example: `mmemo import posteriors fold0_test.csv --name w2v --fold 0 --split test
    --id-col name --classes neutral,calm,happy,sad,angry,fear,disgust,surprise`
    """
    from mmemo.jobs.import_posteriors import import_posteriors as run
    from mmemo.jobs.specs import ImportSpec

    spec = ImportSpec(
        files=tuple(str(f) for f in files),
        name=name,
        classes=classes,
        id_col=id_col,
        score_cols=score_cols,
        fold_col=fold_col,
        fold=fold,
        split_col=split_col,
        split=split,
        scheme=scheme,
        kind=kind,
    )
    info = run(open_store(ctx), spec)
    console.print(
        styled(
            "run ",
            (info.name, "bold"),
            f": {info.n_clips} test clip(s) -> snapshot {info.snapshot_id}",
        )
    )
