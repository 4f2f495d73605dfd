"""``mmemo train`` (static, bilstm, finetune) and ``mmemo fuse``: jobs that fit models per fold."""

from __future__ import annotations

from typing import Annotated

import typer

from mmemo.cli.common import (
    ClipsOpt,
    DeviceOpt,
    FoldsOpt,
    InnerOpt,
    LabelsOpt,
    ParamOpt,
    RichProgress,
    RunNameOpt,
    SchemeOpt,
    SeedOpt,
    SlurmOpt,
    SlurmOptsOpt,
    TasksOpt,
    console,
    open_store,
    simple_table,
    styled,
)
from mmemo.cli.jobs import submit_spec
from mmemo.errors import InputError

train_app = typer.Typer(
    help="Train models under subject-wise cross-validation.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
    app.command()(models)


def models() -> None:
    """List the model kinds a run can be made of: what each takes (vectors, frame sequences,
    audio, other runs' scores) and where it comes from (built in, an installed package's
    `mmemo.model_kinds` entry point); and the encoder families `mmemo embed` loads (built in
    or from `mmemo.encoders`). Any scikit-learn classifier also serves by its import path:
    `--model sklearn.ensemble:RandomForestClassifier`.

    Example: `mmemo models`
    """
    from mmemo.features.encoders import encoder_families
    from mmemo.models.registry import describe_kinds

    rows = describe_kinds()
    console.print(simple_table("model kinds", ["kind", "takes", "from", "about"], rows))
    families = [(kind, target, origin) for kind, (target, origin) in encoder_families().items()]
    console.print(
        simple_table(
            "encoder families (mmemo embed; a checkpoint's model_type picks one)",
            ["model_type", "embedder", "from"],
            families,
        )
    )


@train_app.command("static")
def train_static(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Run name (a grid appends /k=v,... per config).")],
    model: Annotated[
        str,
        typer.Option(
            help="zeror, svc, knn, mlp, logreg, or any scikit-learn classifier as module:Class "
            "(sklearn.ensemble:RandomForestClassifier); `mmemo models` lists the kinds."
        ),
    ],
    features: Annotated[
        str | None,
        typer.Option(
            help="Per-clip feature set (not needed for zeror), or a glob over set names: "
            "'w2v/layer=*' trains one run per matching set (NAME/layer=L, ...).",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="scikit-learn parameter K=V[,V...] (repeatable; several values make a grid; "
            "tuples as 80x80).",
        ),
    ] = None,
    norm: Annotated[
        str, typer.Option(help="minmax, standard or none (comma list = grid).")
    ] = "none",
    scheme: SchemeOpt = "luna2022",
    clips: ClipsOpt = "av-speech",
    labels: LabelsOpt = None,
    seed: SeedOpt = 2020,
    jobs: Annotated[int, typer.Option(help="Parallel workers (-1 = all cores).")] = -1,
    frames: Annotated[
        bool,
        typer.Option(
            "--frames",
            help="Train on every frame of an AU frame set; clips get the mean frame posterior "
            "(NAME) and the majority vote of their frames (NAME/vote).",
        ),
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            help="I/N: train only configurations I, I+N, ... of the grid (or auto in a Slurm "
            "array task); configurations already stored are skipped."
        ),
    ] = None,
    inner: InnerOpt = None,
    slurm: SlurmOpt = False,
    tasks: TasksOpt = None,
    slurm_opts: SlurmOptsOpt = None,
) -> None:
    """Train a static (per-clip) scikit-learn model, one per fold, and store its posteriors.

    Examples:

    * `mmemo train static --model zeror --name zeror`

    * `mmemo train static --features au_means --model svc --param C=0.1,1,10
      --norm minmax,none --name svc`

    * `mmemo train static --features 'w2v/layer=*' --model logreg --name probe`
      (a probe grid: runs probe/layer=conv, probe/layer=1, ...)

    * `mmemo train static --features au_means --model
      sklearn.ensemble:RandomForestClassifier --param n_estimators=200 --name rf`
      (any scikit-learn classifier by import path; the run records its package and version)

    * `mmemo train static --features 'w2v/layer=*' --model logreg --name probe --slurm
      --tasks 5` (the grid's configurations spread over 5 Slurm array tasks)
    """
    from mmemo.jobs.specs import StaticSpec
    from mmemo.scheduler import Slice

    spec = StaticSpec.parse(
        param_specs=param or [],
        norms=norm.split(","),
        name=name,
        model=model,
        features=features,
        scheme=scheme,
        clips=clips,
        labels=labels,
        seed=seed,
        inner=inner,
        frames=frames,
    )
    if frames and (len(spec.grid) != 1 or features is None or inner):
        raise InputError(
            "--frames takes one configuration and --features AU_FRAMES (and no --inner)"
        )
    if slurm:
        if tasks is None:
            raise InputError("--slurm on a grid needs --tasks N (configurations spread over N)")
        submit_spec(ctx, spec, tasks=tasks, options=slurm_opts)
        return
    part = Slice.parse(shard, "--shard") if shard else None
    for info in spec.run(
        open_store(ctx), part=part, progress=RichProgress("train static"), n_jobs=jobs
    ):
        report_run(info)


def _overrides(specs: list[str] | None) -> dict:
    from mmemo.errors import InputError
    from mmemo.params import parse_param_grid

    grid = parse_param_grid(specs or [])
    if len(grid) != 1:
        raise InputError("--param takes one value per key here (no grids for deep models)")
    return grid[0]


def _folds(text: str | None):
    """--folds: a list of fold numbers, or a slice (I/N, auto) of the scheme's folds."""
    from mmemo.scheduler import Slice

    if text is None:
        return None
    if text == "auto" or "/" in text:
        return Slice.parse(text, "--folds", torchrun=False)
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
        raise InputError(f"--folds {text!r}: expected distinct fold numbers, e.g. 0,1")
    return sorted(int(p) for p in parts)


@train_app.command("bilstm")
def train_bilstm(
    ctx: typer.Context,
    features: Annotated[str, typer.Option(help="AU frame set (or frame embeddings) NAME[@V].")],
    name: RunNameOpt,
    scheme: SchemeOpt = "luna2022",
    clips: ClipsOpt = "av-speech",
    labels: LabelsOpt = None,
    seed: SeedOpt = 2020,
    device: DeviceOpt = "auto",
    early_stop_on: Annotated[
        str,
        typer.Option(help="inner (actor-disjoint split of the training actors) or test (paper)."),
    ] = "inner",
    param: ParamOpt = None,
    folds: FoldsOpt = None,
    inner: InnerOpt = None,
    slurm: SlurmOpt = False,
    tasks: TasksOpt = None,
    slurm_opts: SlurmOptsOpt = None,
) -> None:
    """Train the bi-LSTM with attention (2×50 units, batch 64, ≤300 epochs, patience 30).

    Example: `mmemo train bilstm --features aus --name bilstm --param max_epochs=100`
    (add `--slurm` to train one fold per Slurm array task)
    """
    from mmemo.jobs.specs import BiLSTMSpec

    spec = BiLSTMSpec(
        name=name,
        features=features,
        scheme=scheme,
        clips=clips,
        labels=labels,
        seed=seed,
        device=device,
        early_stop_on=early_stop_on,
        params=_overrides(param),
        inner=inner,
    )
    _run_folds(ctx, spec, folds, tasks, slurm, slurm_opts)


@train_app.command("finetune")
def train_finetune(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="wav2vec2 checkpoint: hub id or local folder.")],
    name: RunNameOpt,
    scheme: SchemeOpt = "luna2022",
    clips: ClipsOpt = "av-speech",
    labels: LabelsOpt = None,
    seed: SeedOpt = 2020,
    device: DeviceOpt = "auto",
    batch_size: Annotated[int, typer.Option(help="Clips per optimizer step.")] = 100,
    accumulate: Annotated[int, typer.Option(help="Micro-batches per optimizer step.")] = 1,
    epochs: Annotated[int, typer.Option(help="Epochs.")] = 10,
    keep: Annotated[str, typer.Option(help="Keep each fold's last model (last) or none.")] = "last",
    param: ParamOpt = None,
    folds: FoldsOpt = None,
    inner: InnerOpt = None,
    slurm: SlurmOpt = False,
    tasks: TasksOpt = None,
    slurm_opts: SlurmOptsOpt = None,
) -> None:
    """Fine-tune wav2vec2/XLSR with mean pooling and a 1024-tanh head, one model per fold.

    Resumable: re-run the same command after a crash to continue with the next fold.

    Example: `mmemo train finetune jonatasgrosman/wav2vec2-large-xlsr-53-english --name ft
    --accumulate 10` (on two hosts of a team store: add --folds 0,1 on one, --folds 2,3,4 on
    the other); with `--slurm --slurm-opts "--gres=gpu:1"`, one fold per Slurm array task
    """
    from mmemo.jobs.specs import FinetuneSpec

    spec = FinetuneSpec(
        name=name,
        model=model,
        scheme=scheme,
        clips=clips,
        labels=labels,
        seed=seed,
        device=device,
        keep=keep,
        params={
            **_overrides(param),
            "batch_size": batch_size,
            "gradient_accumulation": accumulate,
            "epochs": epochs,
        },
        inner=inner,
    )
    _run_folds(ctx, spec, folds, tasks, slurm, slurm_opts)


def _run_folds(ctx, spec, folds: str | None, tasks, slurm: bool, slurm_opts) -> None:
    """Run a deep-model spec here (all folds, or --folds), or submit it as a Slurm array:
    one task per fold unless --tasks says."""
    from mmemo.jobs.cv import fold_count

    if slurm:
        count = (
            tasks
            if tasks is not None
            else fold_count(open_store(ctx), spec.scheme, spec.clips, spec.labels)
        )
        submit_spec(ctx, spec, tasks=count, options=slurm_opts)
        return
    progress = RichProgress(spec.job)
    for info in spec.run(open_store(ctx), part=_folds(folds), progress=progress):
        report_run(info)  # nothing on the non-zero ranks of a torchrun job


def report_run(info) -> None:
    """Say what a run job made: its clips, folds and time, and its snapshot (or which folds it
    waits for)."""
    outcome = (
        f"snapshot {info.snapshot_id}"
        if info.snapshot_id is not None
        else f"stored; the run waits for fold(s) {', '.join(map(str, info.waiting))}"
    )
    console.print(
        styled(
            "run ",
            (info.name, "bold"),
            f" ({info.n_clips} clips, {len(info.fold_seconds)} folds, "
            f"{info.wall_seconds:.1f} s) -> {outcome}",
        )
    )


def fuse(
    ctx: typer.Context,
    runs: Annotated[list[str], typer.Argument(help="Runs to fuse (names or globs), in order.")],
    name: RunNameOpt,
    method: Annotated[
        str, typer.Option(help="logreg (paper: trained per fold), mean, product or vote.")
    ] = "logreg",
    C: Annotated[float, typer.Option("--C", help="Inverse regularisation of logreg.")] = 1.0,
    norm: Annotated[str, typer.Option(help="Scaling before logreg: minmax, standard, none.")] = (
        "minmax"
    ),
    seed: SeedOpt = 2020,
    on: Annotated[
        str,
        typer.Option(
            help="What logreg learns from: train (the paper: the fold models' scores of their "
            "own training clips) or oof (out-of-fold scores of runs trained with --inner K)."
        ),
    ] = "train",
) -> None:
    """Late fusion: per fold, a model on the runs' concatenated scores (the paper's method).

    The input matrix comes from sql/fusion/fusion_input.sql.

    Example: `mmemo fuse audio-ft aus-bilstm --name fusion`; stacking on out-of-fold scores:
    `mmemo fuse audio-ft aus-bilstm --name stacked --on oof` (runs trained with --inner 3)
    """
    from mmemo.jobs.fusion import fuse_runs
    from mmemo.jobs.specs import FuseSpec

    spec = FuseSpec(runs=tuple(runs), name=name, method=method, C=C, norm=norm, seed=seed, on=on)
    info = fuse_runs(open_store(ctx), spec, progress=RichProgress("fuse"))
    report_run(info)
