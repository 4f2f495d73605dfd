"""Errors without noise: a cut list says how much it left out, a clip that does not exist is
named as such, and files that belong beside a corpus are counted, not warned about."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_cut_list_of_unknown_clips_says_how_many_more(store_cli, ingested_store, tmp_path):
    unknown = [f"01-01-01-01-01-01-{actor:02d}" for actor in range(17, 25)]  # 8 unknown actors
    path = tmp_path / "scores.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "fold", "split", *(f"s{i}" for i in range(8))])
        for clip in unknown:
            writer.writerow([clip, 0, "test", *[0.125] * 8])
    result = store_cli(
        ingested_store, "import", "posteriors", path, "--name", "imp", "--id-col", "name",
        "--fold-col", "fold", "--split-col", "split", "--kind", "probs",
        "--classes", "neutral,calm,happy,sad,angry,fearful,disgust,surprised",
    )  # fmt: skip
    assert result.code == 2, result.out + result.err
    shown = ", ".join(unknown[:5])
    assert f"8 clip id(s) unknown to the store: {shown} and 3 more" in result.err_text


def test_plot_aus_of_a_clip_that_does_not_exist_says_so(store_cli, aus_store, tmp_path):
    out = tmp_path / "aus.png"
    typo = "01-01-03-01-01-01-09"  # actor 9: the store holds actors 1 and 2
    result = store_cli(aus_store, "plot", "aus", typo, "--out", out)
    assert result.code == 2, result.out + result.err
    assert result.err_text.startswith(f"error: no clip '{typo}' in the store (did you mean '")
    assert "has no frames" not in result.err_text
    assert not out.exists()
    # a file name, suffix and all: the hint names its clip
    named = store_cli(aus_store, "plot", "aus", "01-01-03-01-01-01-01.mp4", "--out", out)
    assert "(did you mean '01-01-03-01-01-01-01'" in named.err_text
    drawn = store_cli(aus_store, "plot", "aus", "01-01-03-01-01-01-01", "--out", out)
    assert drawn.code == 0, drawn.err
    assert out.read_bytes()[:8] == PNG


def test_ingest_counts_openface_outputs_beside_the_corpus_in_one_line(
    store_cli, store, synth_corpus, tmp_path
):
    """``mmemo synth`` puts ``openface/`` into the corpus: its CSVs are no news."""
    root = tmp_path / "corpus"
    (root / "Actor_01").mkdir(parents=True)
    (root / "openface" / "01-01-01-01-01-01-01_aligned").mkdir(parents=True)
    for name in ("03-01-01-01-01-01-01.wav", "01-01-03-01-02-01-01.mp4"):
        shutil.copy(synth_corpus.root / "Actor_01" / name, root / "Actor_01" / name)
    for csv_file in sorted(Path(synth_corpus.openface_dir).glob("01-01-*.csv"))[:5]:
        shutil.copy(csv_file, root / "openface" / csv_file.name)
    (root / "openface" / "01-01-01-01-01-01-01_of_details.txt").write_text("x\n")
    (root / "openface" / "01-01-01-01-01-01-01_aligned" / "frame_det_00_000001.bmp").write_bytes(
        b"BM"
    )
    (root / "notes.txt").write_text("not a corpus file\n")

    result = store_cli(store, "ingest", "ravdess", root)
    assert result.code == 0, result.err
    assert "/openface/" not in result.err  # neither a warning per CSV nor "... and N more"
    assert result.err.count("not a RAVDESS file") == 1  # the file of no known kind
    assert f"skipped {root / 'notes.txt'}: not a RAVDESS file" in result.err_text
    assert "2 RAVDESS file(s): 2 added" in result.out_text
    assert "8 other file(s) skipped" in result.out_text  # counted: 5 CSVs, 2 OpenFace, 1 note
