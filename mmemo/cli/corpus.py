"""Corpus commands: ingest, folds, synth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmemo.cli.common import (
    ClipsOpt,
    RichProgress,
    console,
    err_console,
    open_store,
    simple_table,
    styled,
)

ingest_app = typer.Typer(help="Bring corpora and features into the store.", no_args_is_help=True)
folds_app = typer.Typer(help="Fold schemes (subject-wise cross-validation).", no_args_is_help=True)
synth_app = typer.Typer(help="Make synthetic corpora for tests and demos.", no_args_is_help=True)


#: Skipped files named by ``ingest ravdess`` without ``--list-skipped``.
SHOWN_SKIPPED = 5


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(folds_app, name="folds")
    app.add_typer(synth_app, name="synth")


@ingest_app.command("ravdess")
def ingest_ravdess(
    ctx: typer.Context,
    sources: Annotated[
        list[Path],
        typer.Argument(help="Directories, corpus zip archives, or text files of paths/names."),
    ],
    strict: Annotated[
        bool, typer.Option(help="Fail on any skipped, invalid or bad file (nothing ingested).")
    ] = False,
    list_skipped: Annotated[
        bool,
        typer.Option(
            "--list-skipped",
            help=f"Name every skipped non-RAVDESS file (otherwise the first {SHOWN_SKIPPED} when "
            "the store changed, none on a re-run that finds nothing new).",
        ),
    ] = False,
) -> None:
    """Ingest RAVDESS files: clip metadata (all seven name fields), duration, rate and hash.

    Examples:

    * `mmemo ingest ravdess ~/data/RAVDESS/`

    * `mmemo ingest ravdess Audio_Speech_Actors_01-24.zip Video_Speech_Actor_*.zip`

    * `mmemo ingest ravdess clips.txt` (one path or file stem per line; names only)

    The clip counts are printed when the store changed; a re-run that finds nothing new
    prints one line.
    """
    from mmemo.corpora.ingest import ingest_ravdess as ingest

    progress = RichProgress("ingest ravdess")
    report = ingest(open_store(ctx), sources, strict=strict, progress=progress)
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
            styled(("skipped", "yellow"), f" {where}: not a RAVDESS file"), highlight=False
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
    skipped = report.not_ravdess + report.not_media
    console.print(
        f"{report.files} RAVDESS file(s): {report.added} added, {report.unchanged} unchanged; "
        f"{skipped} other file(s) skipped, {len(report.invalid)} invalid name(s), "
        f"{len(report.bad_media)} bad media, {report.duplicates} duplicate(s)"
        + "".join(f"; {n} {kind} file(s) beside the corpus" for kind, n in report.siblings.items())
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
) -> None:
    """Print each fold's test actors and class counts.

    Example: `mmemo folds show luna2022 --clips av-speech`
    """
    from mmemo.jobs.cv import describe_folds

    folds = describe_folds(open_store(ctx), scheme, clips)
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


@synth_app.command("ravdess")
def synth_ravdess(
    out: Annotated[Path, typer.Argument(help="Folder to create the corpus in.")],
    actors: Annotated[int, typer.Option(help="Actors 1..N (24 = the full 7,356-file shape).")] = 4,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2020,
    seconds: Annotated[float, typer.Option(help="Typical clip length.")] = 1.0,
    archives: Annotated[
        Path | None, typer.Option(help="Also write the corpus' zip archives into this folder.")
    ] = None,
) -> None:
    """Write a RAVDESS-shaped synthetic corpus (WAV, MP4 with AAC, OpenFace CSVs).

    Example: `mmemo synth ravdess ./synth --actors 4`
    """
    from mmemo.corpora.synth import create_ravdess, write_archives

    corpus = create_ravdess(out, actors=actors, seed=seed, seconds=seconds)
    media, csvs = len(corpus.files), len(corpus.openface_files)
    console.print(
        f"wrote {media + csvs} files to {corpus.root}: {media} media (WAV, MP4)"
        + (f" and {csvs} OpenFace CSVs in {corpus.openface_dir}" if csvs else "")
    )
    if archives is not None:
        written = write_archives(corpus.root, archives)
        console.print(f"wrote {len(written)} archive(s) to {archives}")
