"""``mmemo synth``: synthetic corpora in each corpus's real layout, for tests and demos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmemo.cli.common import console

synth_app = typer.Typer(help="Make synthetic corpora for tests and demos.", no_args_is_help=True)

#: The folder and seed every ``mmemo synth`` command takes.
SynthOutArg = Annotated[Path, typer.Argument(help="Folder to create the corpus in.")]
SynthSeedOpt = Annotated[int, typer.Option(help="Random seed.")]


def register(app: typer.Typer) -> None:
    app.add_typer(synth_app, name="synth")


@synth_app.command("ravdess")
def synth_ravdess(
    out: SynthOutArg,
    actors: Annotated[int, typer.Option(help="Actors 1..N (24 = the full 7,356-file shape).")] = 4,
    seed: SynthSeedOpt = 2020,
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


@synth_app.command("crema-d")
def synth_crema_d(
    out: SynthOutArg,
    actors: Annotated[int, typer.Option(help="Actors 1001..1000+N (91 = the full shape).")] = 4,
    sentences: Annotated[
        str | None,
        typer.Option(help="Sentence codes to record, comma-separated (default: all twelve)."),
    ] = None,
    seed: SynthSeedOpt = 2020,
    seconds: Annotated[float, typer.Option(help="Typical take length.")] = 1.0,
    video: Annotated[bool, typer.Option(help="Also write the FLV files.")] = True,
    votes: Annotated[bool, typer.Option(help="Also write the crowd's tabulatedVotes.csv.")] = True,
) -> None:
    """Write a CREMA-D-shaped synthetic corpus: AudioWAV/, VideoFlash/, VideoDemographics.csv
    and processedResults/tabulatedVotes.csv.

    Example: `mmemo synth crema-d ./crema --actors 4 --sentences IEO,DFA`
    """
    from mmemo.corpora.synth.crema_d import create_crema_d

    chosen = [s.strip() for s in sentences.split(",")] if sentences is not None else None
    corpus = create_crema_d(
        out,
        actors=actors,
        sentences=chosen,
        seed=seed,
        seconds=seconds,
        video=video,
        votes=votes,
    )
    console.print(
        f"wrote {len(corpus.files)} media files of {len(corpus.takes)} takes to {corpus.root}"
        + (", with the crowd's votes" if corpus.votes is not None else "")
    )


@synth_app.command("manifest")
def synth_manifest(
    out: SynthOutArg,
    speakers: Annotated[int, typer.Option(help="Speakers spk001..spkN.")] = 4,
    per_speaker: Annotated[int, typer.Option(help="WAV files per speaker.")] = 8,
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl or parquet.")] = "csv",
    seed: SynthSeedOpt = 2020,
    seconds: Annotated[float, typer.Option(help="Typical file length.")] = 0.4,
) -> None:
    """Write a corpus described by a manifest: audio/SPEAKER/*.wav and manifest.FORMAT with the
    columns file, emotion, speaker, sex and key (for `mmemo ingest manifest`).

    Example: `mmemo synth manifest ./toy --speakers 4 --format parquet`
    """
    from mmemo.corpora.synth.manifest import create_manifest

    made = create_manifest(
        out, speakers=speakers, per_speaker=per_speaker, fmt=fmt, seed=seed, seconds=seconds
    )
    console.print(f"wrote {len(made.rows)} WAV files and {made.manifest}")


@synth_app.command("emobox")
def synth_emobox(
    out: Annotated[Path, typer.Argument(help="Folder to create the layout in.")],
    corpus: Annotated[str, typer.Option(help="The corpus's name (its data/ folder).")] = "toybox",
    speakers: Annotated[int, typer.Option(help="Speakers the folds test.")] = 4,
    folds: Annotated[int, typer.Option(help="EmoBox folds.")] = 2,
    seed: SynthSeedOpt = 2020,
) -> None:
    """Write a corpus in EmoBox's layout: data/CORPUS/ (manifest, label map, folds) and the
    audio under downloads/CORPUS/.

    Example: `mmemo synth emobox ./emobox --corpus toybox --folds 2`
    """
    from mmemo.corpora.synth.emobox import create_emobox

    made = create_emobox(out, corpus=corpus, speakers=speakers, folds=folds, seed=seed)
    console.print(f"wrote {len(made.folds)} utterances of {corpus} to {made.folder}")


@synth_app.command("iemocap")
def synth_iemocap(
    out: SynthOutArg,
    sessions: Annotated[int, typer.Option(help="Sessions 1..N (5 = the release's).")] = 5,
    turns: Annotated[int, typer.Option(help="Utterances per dialogue.")] = 7,
    seed: SynthSeedOpt = 2020,
) -> None:
    """Write an IEMOCAP-shaped synthetic corpus: SessionN/sentences/wav/ and
    SessionN/dialog/EmoEvaluation/.

    Example: `mmemo synth iemocap ./iemocap --sessions 2`
    """
    from mmemo.corpora.synth.iemocap import create_iemocap

    made = create_iemocap(out, sessions=sessions, turns=turns, seed=seed)
    console.print(f"wrote {len(made.codes)} utterances of {sessions} session(s) to {made.root}")
