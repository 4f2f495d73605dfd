"""Corpus commands: ingest and folds (``mmemo synth`` is :mod:`mmemo.cli.synth`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mmemo.cli.common import (
    ClipsOpt,
    LabelsOpt,
    RichProgress,
    console,
    err_console,
    open_store,
    simple_table,
    styled,
)

if TYPE_CHECKING:
    from mmemo.corpora.adapters import CorpusAdapter

ingest_app = typer.Typer(help="Bring corpora and features into the store.", no_args_is_help=True)
folds_app = typer.Typer(help="Fold schemes (subject-wise cross-validation).", no_args_is_help=True)

#: Skipped files named by ``ingest ravdess`` without ``--list-skipped``.
SHOWN_SKIPPED = 5


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(folds_app, name="folds")


#: The options every ``mmemo ingest CORPUS`` command takes.
SourcesArg = Annotated[
    list[Path],
    typer.Argument(help="Directories, corpus zip archives, or text files of paths/names."),
]
StrictOpt = Annotated[
    bool, typer.Option(help="Fail on any skipped, invalid or bad file (nothing ingested).")
]
ListSkippedOpt = Annotated[
    bool,
    typer.Option(
        "--list-skipped",
        help=f"Name every skipped file not of the corpus (otherwise the first {SHOWN_SKIPPED} "
        "when the store changed, none on a re-run that finds nothing new).",
    ),
]


def _corpus_command(corpus: str, doc: str) -> None:
    """Register ``mmemo ingest CORPUS`` for a built-in adapter that needs no options."""

    def command(
        ctx: typer.Context,
        sources: SourcesArg,
        strict: StrictOpt = False,
        list_skipped: ListSkippedOpt = False,
    ) -> None:
        _ingest(ctx, corpus, sources, strict, list_skipped)

    command.__doc__ = doc
    command.__name__ = f"ingest_{corpus.replace('-', '_')}"
    ingest_app.command(corpus)(command)


_RAVDESS_HELP = """\
Ingest RAVDESS files: clip metadata (all seven name fields), duration, rate and hash.

Examples:

* `mmemo ingest ravdess ~/data/RAVDESS/`

* `mmemo ingest ravdess Audio_Speech_Actors_01-24.zip Video_Speech_Actor_*.zip`

* `mmemo ingest ravdess clips.txt` (one path or file stem per line; names only)

The clip counts are printed when the store changed; a re-run that finds nothing new
prints one line.
"""
_CREMA_D_HELP = """\
Ingest CREMA-D: `AudioWAV/*.wav` (audio-only clips) and `VideoFlash/*.flv` (audio and
video), the actors' sex and age from `VideoDemographics.csv`, and the crowd's perceived
labels from `processedResults/tabulatedVotes.csv` where the folder has it.

Clip ids are `crema-d:` and the file name (`crema-d:1001_DFA_ANG_XX.wav`); the two files
of a take share its `performance`. The view `perceived_labels` sets what raters chose
beside each clip's acted label.

Examples:

* `mmemo ingest crema-d ~/data/CREMA-D/`

* `mmemo ingest crema-d ~/data/CREMA-D/AudioWAV` (the audio alone)
"""
_IEMOCAP_HELP = """\
Ingest IEMOCAP: the utterance WAVs under `SessionN/sentences/wav/`, labelled by
`SessionN/dialog/EmoEvaluation/*.txt` (`xxx`: the evaluators did not agree).

Clip ids are `iemocap:UTTERANCE`; speakers `Ses01F` ... numbered 2011-2052. The usual four
classes are `--labels common4` (happy takes excited), leave-one-session-out folds
`--scheme sessions`.

Example: `mmemo ingest iemocap ~/data/IEMOCAP_full_release/`
"""

for _corpus, _help in (
    ("ravdess", _RAVDESS_HELP),
    ("crema-d", _CREMA_D_HELP),
    ("iemocap", _IEMOCAP_HELP),
):
    _corpus_command(_corpus, _help)


@ingest_app.command("emobox")
def ingest_emobox(
    ctx: typer.Context,
    folder: Annotated[
        Path, typer.Argument(help="EmoBox's data/CORPUS folder (CORPUS.jsonl, label_map.json).")
    ],
    root: Annotated[
        Path | None,
        typer.Option(help="Folder the manifest's wav paths start in (default: the folder)."),
    ] = None,
    strict: StrictOpt = False,
    list_skipped: ListSkippedOpt = False,
) -> None:
    """Ingest a corpus from EmoBox's manifests, with its label map and its folds: the
    dataset is named after the folder, clip ids are `CORPUS:KEY`, and `--scheme emobox`
    gives EmoBox's folds of it (fold 0 = EmoBox's fold_1).

    Example: `mmemo ingest emobox ~/EmoBox/data/cafe --root ~/EmoBox`
    """
    from mmemo.corpora.emobox import EmoBoxAdapter

    manifest = Path(folder) / f"{Path(folder).name}.jsonl"
    _ingest(ctx, EmoBoxAdapter(folder, root), [manifest], strict, list_skipped)


@ingest_app.command("audformat")
def ingest_audformat(
    ctx: typer.Context,
    root: Annotated[Path, typer.Argument(help="The database's folder (db.yaml, tables, media).")],
    dataset: Annotated[
        str | None, typer.Option(help="The corpus's name in the store (default: the database's).")
    ] = None,
    label_scheme: Annotated[str, typer.Option(help="The scheme of the classes.")] = "emotion",
    speaker_scheme: Annotated[str, typer.Option(help="The scheme of the speakers.")] = "speaker",
    strict: StrictOpt = False,
    list_skipped: ListSkippedOpt = False,
) -> None:
    """Ingest an audformat database (the audb/audformat convention; needs
    `pip install 'mmemo[audformat]'`): a clip per file, its class, speaker and gender from
    the database's schemes.

    Example: `mmemo ingest audformat ~/audb/emodb/1.4.1 --dataset emodb`
    """
    from mmemo.corpora.audformat_db import AudformatAdapter

    adapter = AudformatAdapter(
        root, dataset, label_scheme=label_scheme, speaker_scheme=speaker_scheme
    )
    _ingest(ctx, adapter, [Path(root) / "db.yaml"], strict, list_skipped)


@ingest_app.command("corpus")
def ingest_any_corpus(
    ctx: typer.Context,
    corpus: Annotated[str, typer.Argument(help="A corpus adapter's name: built-in or plug-in.")],
    sources: SourcesArg,
    strict: StrictOpt = False,
    list_skipped: ListSkippedOpt = False,
) -> None:
    """Ingest through any registered corpus adapter, a plug-in's included (an installed
    package's `mmemo.corpora` entry point): the built-ins are also commands of their own.

    Example: `mmemo ingest corpus example-tess ~/data/TESS/`
    """
    _ingest(ctx, corpus, sources, strict, list_skipped)


@ingest_app.command("manifest")
def ingest_manifest(
    ctx: typer.Context,
    manifest: Annotated[Path, typer.Argument(help="A .csv, .tsv, .jsonl or .parquet table.")],
    dataset: Annotated[
        str, typer.Option(help="The corpus's name in the store (clips.dataset, clip id prefix).")
    ],
    path_column: Annotated[str, typer.Option(help="Column of media paths.")] = "path",
    label_column: Annotated[str, typer.Option(help="Column of class labels.")] = "label",
    speaker_column: Annotated[str, typer.Option(help="Column of speaker names.")] = "speaker",
    gender_column: Annotated[
        str | None, typer.Option(help="Column of genders (m/f, male/female).")
    ] = None,
    key_column: Annotated[
        str | None, typer.Option(help="Column of clip keys (default: the path under --root).")
    ] = None,
    root: Annotated[
        Path | None, typer.Option(help="Folder relative paths start in (default: the manifest's).")
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(
            help="The classes in order, comma-separated (default: sorted); rows of "
            "other labels are listed as invalid."
        ),
    ] = None,
    strict: StrictOpt = False,
    list_skipped: ListSkippedOpt = False,
) -> None:
    """Ingest any corpus from a manifest: a row per media file with its path, label and
    speaker (columns named by the options).

    Clip ids are `DATASET:KEY`; a speaker keeps the number folds group by across ingests.

    Examples:

    * `mmemo ingest manifest tess.csv --dataset tess --path-column file --label-column emo`

    * `mmemo ingest manifest meta.parquet --dataset mine --root /data --labels neutral,happy,sad`
    """
    from mmemo.corpora.manifest import ManifestAdapter, ManifestOptions

    options = ManifestOptions(
        dataset=dataset,
        path_column=path_column,
        label_column=label_column,
        speaker_column=speaker_column,
        gender_column=gender_column,
        key_column=key_column,
        root=root,
        labels=tuple(x.strip() for x in labels.split(",") if x.strip()) if labels else None,
    )
    _ingest(ctx, ManifestAdapter(manifest, options), [manifest], strict, list_skipped)


def _ingest(
    ctx: typer.Context,
    corpus: str | CorpusAdapter,
    sources: list[Path],
    strict: bool,
    list_skipped: bool,
) -> None:
    """Ingest through the adapter ``corpus`` (or the one registered by that name) and print
    what happened."""
    from mmemo.corpora.adapters import get_corpus
    from mmemo.corpora.ingest import ingest_corpus

    adapter = get_corpus(corpus) if isinstance(corpus, str) else corpus
    progress = RichProgress(f"ingest {adapter.name}")
    report = ingest_corpus(open_store(ctx), adapter, sources, strict=strict, progress=progress)
    for line in report.invalid:
        err_console.print(styled(("invalid name", "yellow"), f" {line}"), highlight=False)
    for line in report.bad_media:
        err_console.print(styled(("skipped", "yellow"), f" {line}"), highlight=False)
    for line in report.refused:
        err_console.print(
            styled(("refused", "red"), f" {line}: member path escapes the archive"), highlight=False
        )
    # skipped files are named when they are news (the store changed) or asked for; a re-run
    # that finds nothing new says only how many there are
    skipped_files = sorted(report.skipped)
    if list_skipped:
        shown = skipped_files
    else:
        shown = skipped_files[:SHOWN_SKIPPED] if report.snapshot_id else []
    for where in shown:
        err_console.print(
            styled(("skipped", "yellow"), f" {where}: not a {adapter.title} file"),
            highlight=False,
        )
    if shown and len(shown) < len(skipped_files):
        err_console.print(
            f"... and {len(skipped_files) - len(shown)} more skipped file(s); "
            "name them all with --list-skipped",
            highlight=False,
        )
    if report.snapshot_id:
        console.print(
            simple_table(
                "clips in the store", ["modality", "channel", "emotion", "clips"], report.summary
            )
        )
    skipped = report.not_corpus + report.not_media
    console.print(
        f"{report.files} {adapter.title} file(s): {report.added} added, "
        f"{report.unchanged} unchanged; "
        f"{skipped} other file(s) skipped, {len(report.invalid)} invalid name(s), "
        f"{len(report.bad_media)} bad media, {report.duplicates} duplicate(s)"
        + "".join(f"; {n} {kind} file(s) beside the corpus" for kind, n in report.siblings.items())
        + (f"; {report.ratings} perceived label(s)" if report.ratings else "")
        + (f"; snapshot {report.snapshot_id}" if report.snapshot_id else "; store unchanged")
        + ("" if shown or not skipped_files else " (--list-skipped names the skipped files)")
    )


def _scheme_list() -> str:
    """The registered fold schemes with what they are and their sources, for help texts."""
    from mmemo.corpora.folds import scheme_help

    return "\n\n".join(f"* `{usage}`: {about}" for usage, about in scheme_help())


@folds_app.command("show")
def folds_show(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(help="A fold scheme (listed below).")],
    clips: ClipsOpt = "av-speech",
    labels: LabelsOpt = None,
) -> None:
    """Print each fold's test actors and class counts.

    Example: `mmemo folds show luna2022 --clips av-speech`; across corpora, `mmemo folds show
    corpora --clips audio-speech --labels common6`
    """
    from mmemo.jobs.cv import describe_folds

    folds = describe_folds(open_store(ctx), scheme, clips, labels)
    rows = [
        (f["fold"], ",".join(map(str, f["actors"])), f["n"], *f["classes"].values()) for f in folds
    ]
    labels = list(folds[0]["classes"]) if folds else []  # the dataset's classes, in order
    short = [label[:3] for label in labels]  # eight full labels do not fit 80 columns
    if len(set(short)) < len(short):
        short = labels
    console.print(
        simple_table(
            f"{scheme} on {clips}",
            ["fold", "test actors", "clips", *short],
            rows,
            caption="clips per class: "
            + ", ".join(f"{a} = {b}" for a, b in zip(short, labels, strict=True)),
        )
    )


folds_show.__doc__ = f"{folds_show.__doc__.rstrip()}\n\nSchemes:\n\n{_scheme_list()}\n"


@folds_app.command("compare")
def folds_compare(
    ctx: typer.Context,
    scheme_a: Annotated[str, typer.Argument(help="First fold scheme, e.g. luna2022.")],
    scheme_b: Annotated[str, typer.Argument(help="Second fold scheme, e.g. emobox.")],
    clips: ClipsOpt = "av-speech",
) -> None:
    """Which actors, and so which clips, change test fold between two schemes.

    One row per actor: its clips, its test fold under each scheme and the actors it is tested
    with; then how many clips change test fold. Nothing is written to the store.

    Example: `mmemo folds compare luna2022 emobox --clips av-speech`
    """
    from mmemo.reports.fold_compare import compare_schemes

    result = compare_schemes(open_store(ctx), scheme_a, scheme_b, clips)
    rows = [
        (
            m.actor,
            m.gender,
            m.clips,
            m.fold_a,
            m.fold_b,
            "yes" if m.moves else "",
            ",".join(map(str, m.with_a)) or "-",
            ",".join(map(str, m.with_b)) or "-",
        )
        for m in result.actors
    ]
    console.print(
        simple_table(
            f"{scheme_a} vs {scheme_b} on {result.clips}",
            ["actor", "gender", "clips", "fold A", "fold B", "moves", "with A", "with B"],
            rows,
            caption=f"A = {scheme_a}, B = {scheme_b}; 'with': the other actors of the test fold",
        )
    )
    console.print(result.summary())
