"""Tests of the synthetic RAVDESS corpus builder."""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from mmemo.corpora.ravdess import corpus_names, parse_name
from mmemo.corpora.synth import (
    AU_INTENSITY_COLUMNS,
    AU_PRESENCE_COLUMNS,
    AU_PROTOTYPES,
    OPENFACE_COLUMNS,
    SynthCorpus,
    create_ravdess,
    write_archives,
)
from mmemo.errors import InputError, NotFoundError

ACTORS = (17, 18)  # a man and a woman; actor 18 recorded no song
SECONDS = 0.3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> SynthCorpus:
    return create_ravdess(tmp_path_factory.mktemp("ravdess"), actors=ACTORS, seconds=SECONDS)


@pytest.fixture(scope="module")
def tables(corpus: SynthCorpus) -> dict[str, dict[str, np.ndarray]]:
    """Every OpenFace CSV of the corpus, parsed, by stem."""
    return {path.stem: _read_openface(path) for path in corpus.openface_files}


def _read_openface(path: Path) -> dict[str, np.ndarray]:
    lines = path.read_text().splitlines()
    names = [name.strip() for name in lines[0].split(",")]
    values = np.array([line.split(", ") for line in lines[1:]], dtype=float)
    return dict(zip(names, values.T, strict=True))


def _digests(paths: list[Path], root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _stem(modality: int, channel: int, emotion: int, intensity: int, actor: int) -> str:
    return f"{modality:02d}-{channel:02d}-{emotion:02d}-{intensity:02d}-01-01-{actor:02d}"


# --- columns ------------------------------------------------------------------------------


def test_openface_columns_are_the_real_714() -> None:
    assert len(OPENFACE_COLUMNS) == 714
    assert len(set(OPENFACE_COLUMNS)) == 714
    assert OPENFACE_COLUMNS[:5] == ("frame", "face_id", "timestamp", "confidence", "success")
    assert OPENFACE_COLUMNS[5:13] == (
        "gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z",
        "gaze_angle_x", "gaze_angle_y",
    )  # fmt: skip
    assert OPENFACE_COLUMNS[13] == "eye_lmk_x_0"
    assert OPENFACE_COLUMNS[13 + 5 * 56 - 1] == "eye_lmk_Z_55"
    i = OPENFACE_COLUMNS.index("pose_Tx")
    assert OPENFACE_COLUMNS[i : i + 7] == (
        "pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz", "x_0",
    )  # fmt: skip
    i = OPENFACE_COLUMNS.index("p_scale")
    assert OPENFACE_COLUMNS[i - 1] == "Z_67"
    assert OPENFACE_COLUMNS[i + 6] == "p_0"
    assert OPENFACE_COLUMNS[i + 39] == "p_33"
    assert OPENFACE_COLUMNS[-35:] == AU_INTENSITY_COLUMNS + AU_PRESENCE_COLUMNS
    assert len(AU_INTENSITY_COLUMNS) == 17
    assert len(AU_PRESENCE_COLUMNS) == 18
    assert "AU28_c" in AU_PRESENCE_COLUMNS and "AU28_r" not in AU_INTENSITY_COLUMNS


def test_au_prototypes_cover_every_emotion_with_known_units() -> None:
    names = {c[:4] for c in AU_INTENSITY_COLUMNS}
    assert len(AU_PROTOTYPES) == 8
    for units in AU_PROTOTYPES.values():
        assert set(units) <= names


# --- layout -------------------------------------------------------------------------------


def test_files_match_corpus_names(corpus: SynthCorpus) -> None:
    expected = [s for s in corpus_names() if int(s[-2:]) in ACTORS]
    assert sorted(corpus.stems) == sorted(expected)
    assert corpus.actors == ACTORS
    for path in corpus.files:
        name = parse_name(path.stem)
        assert path.parent == corpus.root / f"Actor_{name.actor:02d}"
        assert path.suffix == (".wav" if name.modality == 3 else ".mp4")
    by_modality = Counter(s[:2] for s in expected)
    assert corpus.n_full_av == by_modality["01"] == 104 + 60
    assert corpus.n_video_only == by_modality["02"]
    assert corpus.n_audio == by_modality["03"]
    assert corpus.n_video == by_modality["01"] + by_modality["02"]
    assert not any(parse_name(s).vocal_channel == 2 for s in corpus.stems if s.endswith("-18"))


def test_one_openface_csv_per_video(corpus: SynthCorpus) -> None:
    assert corpus.openface_dir == corpus.root / "openface"
    videos = sorted(p.stem for p in corpus.files if p.suffix == ".mp4")
    assert [p.stem for p in corpus.openface_files] == videos
    assert sorted(p.stem for p in corpus.openface_dir.glob("*.csv")) == videos


def test_durations_vary_around_seconds(corpus: SynthCorpus) -> None:
    durations = np.array(list(corpus.durations.values()))
    assert set(corpus.durations) == set(corpus.stems)
    assert durations.min() >= 0.75 * SECONDS - 1e-9
    assert durations.max() <= 1.25 * SECONDS + 1e-9
    assert len(set(durations.round(3))) > 20


# --- media --------------------------------------------------------------------------------


def test_wav_format(corpus: SynthCorpus) -> None:
    wav = next(p for p in corpus.files if p.suffix == ".wav")
    info = sf.info(wav)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        48_000,
        1,
        "PCM_16",
        "WAV",
    )
    assert info.frames == round(corpus.durations[wav.stem] * 48_000)


def test_full_av_mp4_has_h264_and_aac_stereo(corpus: SynthCorpus) -> None:
    stem = _stem(1, 1, 5, 2, 17)
    duration = corpus.durations[stem]
    with av.open(str(corpus.root / "Actor_17" / f"{stem}.mp4")) as container:
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(duration, abs=0.07)
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.index, audio.index) == (0, 1)
        assert video.codec_context.name == "h264"
        assert video.codec_context.format.name == "yuv420p"
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == 48_000
        assert audio.codec_context.channels == 2
        samples = np.concatenate(
            [frame.to_ndarray() for frame in container.decode(audio=0)], axis=1
        )
    assert samples.shape[0] == 2
    assert samples.shape[1] == pytest.approx(duration * 48_000, abs=2 * 1024)
    assert np.sqrt(np.mean(samples**2)) > 0.01


def test_video_only_mp4_has_no_audio(corpus: SynthCorpus) -> None:
    path = corpus.root / "Actor_18" / f"{_stem(2, 1, 3, 1, 18)}.mp4"
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 0
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == round(corpus.durations[path.stem] * 15)
    assert frames[0].shape == (48, 64, 3)


def test_modalities_of_one_recording_share_content(corpus: SynthCorpus) -> None:
    av_stem, wav_stem = _stem(1, 1, 3, 1, 17), _stem(3, 1, 3, 1, 17)
    wav, _ = sf.read(corpus.root / "Actor_17" / f"{wav_stem}.wav")
    with av.open(str(corpus.root / "Actor_17" / f"{av_stem}.mp4")) as container:
        decoded = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    # AAC delays and slightly changes the sound; it stays recognisably the same signal.
    delay = 1024
    n = len(wav) - 2 * delay
    aligned = max(
        np.corrcoef(wav[:n], decoded[shift : shift + n])[0, 1] for shift in range(0, 2 * delay)
    )
    assert aligned > 0.9
    csv_av = corpus.openface_dir / f"{av_stem}.csv"
    csv_video = corpus.openface_dir / f"02{av_stem[2:]}.csv"
    assert csv_av.read_bytes() == csv_video.read_bytes()


def _f0(signal: np.ndarray, rate: int = 48_000) -> float:
    """Fundamental by autocorrelation over 70-500 Hz."""
    x = signal - signal.mean()
    spectrum = np.fft.rfft(x, 2 * len(x))
    ac = np.fft.irfft(np.abs(spectrum) ** 2)[: len(x)]
    lo, hi = rate // 500, rate // 70
    return rate / (lo + int(np.argmax(ac[lo:hi])))


def test_voice_depends_on_actor_and_emotion(corpus: SynthCorpus) -> None:
    def clip(emotion: int, intensity: int, actor: int) -> np.ndarray:
        stem = _stem(3, 1, emotion, intensity, actor)
        return sf.read(corpus.root / f"Actor_{actor:02d}" / f"{stem}.wav")[0]

    # Actor 18 is a woman: higher voice than actor 17, a man.
    assert _f0(clip(1, 1, 18)) > 1.3 * _f0(clip(1, 1, 17))
    # Strong anger is louder than sadness.
    for actor in ACTORS:
        angry, sad = clip(5, 2, actor), clip(4, 2, actor)
        assert np.sqrt(np.mean(angry**2)) > 2 * np.sqrt(np.mean(sad**2))


def test_pictures_depend_on_emotion(corpus: SynthCorpus) -> None:
    def mean_colour(emotion: int) -> np.ndarray:
        path = corpus.root / "Actor_17" / f"{_stem(2, 1, emotion, 2, 17)}.mp4"
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
        return frame[:4].reshape(-1, 3).mean(axis=0)  # top rows: background

    angry, sad = mean_colour(5), mean_colour(4)
    assert angry[0] > sad[0] + 50  # red
    assert sad[2] > angry[2] + 50  # blue


# --- OpenFace -----------------------------------------------------------------------------


def test_openface_raw_header_has_leading_spaces(corpus: SynthCorpus) -> None:
    path = corpus.openface_files[0]
    lines = path.read_text().splitlines()
    raw = lines[0].split(",")
    assert len(raw) == 714
    assert raw[0] == "frame"
    assert all(name.startswith(" ") and not name.startswith("  ") for name in raw[1:])
    assert tuple(name.strip() for name in raw) == OPENFACE_COLUMNS
    assert all(len(line.split(", ")) == 714 for line in lines[1:])
    assert lines[1].startswith("1, 0, 0.000, ")


def test_openface_frames_at_30_fps(
    corpus: SynthCorpus, tables: dict[str, dict[str, np.ndarray]]
) -> None:
    for stem, table in tables.items():
        n = round(corpus.durations[stem] * 30)
        assert len(table["frame"]) == n
        np.testing.assert_array_equal(table["frame"], np.arange(1, n + 1))
        np.testing.assert_allclose(table["timestamp"], np.arange(n) / 30, atol=5e-4)
        assert set(np.unique(table["face_id"])) == {0}


def test_openface_values_are_plausible(tables: dict[str, dict[str, np.ndarray]]) -> None:
    success = np.concatenate([t["success"] for t in tables.values()])
    confidence = np.concatenate([t["confidence"] for t in tables.values()])
    assert set(np.unique(success)) == {0.0, 1.0}
    assert 0.9 < success.mean() < 1.0
    assert np.median(confidence) == pytest.approx(0.98)
    assert confidence[success == 0].max() < 0.7
    for table in tables.values():
        ok = table["success"] == 1
        failed = ~ok
        assert np.all(table["AU12_r"][failed] == 0) and np.all(table["x_0"][failed] == 0)
        for name in AU_INTENSITY_COLUMNS:
            assert np.all((table[name] >= 0) & (table[name] <= 5))
            presence = table[name[:4] + "_c"]
            np.testing.assert_array_equal(presence[ok], (table[name][ok] >= 1.0).astype(float))
        gaze = np.stack([table["gaze_0_x"], table["gaze_0_y"], table["gaze_0_z"]])[:, ok]
        np.testing.assert_allclose(np.linalg.norm(gaze, axis=0), 1.0, atol=2e-5)
        assert np.all((table["x_30"][ok] > 300) & (table["x_30"][ok] < 1000))
        assert np.all(table["Z_30"][ok] > 300)


def test_action_units_follow_the_emotion(tables: dict[str, dict[str, np.ndarray]]) -> None:
    means: dict[tuple[int, str], list[float]] = {}
    for stem, table in tables.items():
        name = parse_name(stem)
        ok = table["success"] == 1
        for au in ("AU12_r", "AU06_r", "AU04_r", "AU15_r", "AU09_r", "AU26_r"):
            means.setdefault((name.emotion, au), []).append(float(table[au][ok].mean()))

    def mean(emotion: int, au: str) -> float:
        return float(np.mean(means[(emotion, au)]))

    neutral, happy, sad, angry, disgust, surprised = 1, 3, 4, 5, 7, 8
    assert mean(happy, "AU12_r") > mean(neutral, "AU12_r") + 1.0
    assert mean(happy, "AU06_r") > mean(neutral, "AU06_r") + 1.0
    assert mean(angry, "AU04_r") > mean(happy, "AU04_r") + 1.0
    assert mean(sad, "AU15_r") > mean(happy, "AU15_r") + 1.0
    assert mean(disgust, "AU09_r") > mean(neutral, "AU09_r") + 1.0
    assert mean(surprised, "AU26_r") > mean(sad, "AU26_r") + 1.0


def test_strong_intensity_gives_stronger_action_units(
    tables: dict[str, dict[str, np.ndarray]],
) -> None:
    def au12(intensity: int) -> float:
        prefix = f"01-01-03-{intensity:02d}-"
        return float(np.mean([t["AU12_r"].mean() for s, t in tables.items() if s[:12] == prefix]))

    assert au12(2) > au12(1) + 0.5


# --- determinism, arguments ---------------------------------------------------------------


def test_same_arguments_give_identical_files(corpus: SynthCorpus, tmp_path: Path) -> None:
    again = create_ravdess(tmp_path, actors=[18], seconds=SECONDS)
    first = [p for p in corpus.files + corpus.openface_files if p.stem.endswith("-18")]
    assert _digests(again.files + again.openface_files, again.root) == _digests(first, corpus.root)


def test_another_seed_gives_other_files(corpus: SynthCorpus, tmp_path: Path) -> None:
    other = create_ravdess(tmp_path, actors=[18], seconds=SECONDS, seed=1, openface=False)
    assert other.openface_dir is None and not (tmp_path / "openface").exists()
    assert other.stems == [s for s in corpus.stems if s.endswith("-18")]
    wav = "Actor_18/03-01-02-01-01-01-18.wav"
    assert (other.root / wav).read_bytes() != (corpus.root / wav).read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actors": 0}, "between 1 and 24"),
        ({"actors": 25}, "between 1 and 24"),
        ({"actors": [1, 25]}, "unknown actor"),
        ({"actors": []}, "unknown actor"),
        ({"seed": -1}, "non-negative"),
        ({"seconds": 0.0}, "positive"),
        ({"workers": 0}, "at least 1"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        create_ravdess(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_workers_give_the_same_files(tmp_path: Path) -> None:
    serial = create_ravdess(tmp_path / "serial", actors=[1, 2], seconds=0.2)
    parallel = create_ravdess(tmp_path / "parallel", actors=[1, 2], seconds=0.2, workers=2)
    assert _digests(parallel.files + parallel.openface_files, parallel.root) == _digests(
        serial.files + serial.openface_files, serial.root
    )


# --- archives -----------------------------------------------------------------------------


def test_archives_are_named_like_the_real_corpus(corpus: SynthCorpus, tmp_path: Path) -> None:
    archives = write_archives(corpus.root, tmp_path / "zips")
    assert [p.name for p in archives] == [
        "Audio_Speech_Actors_01-24.zip",
        "Audio_Song_Actors_01-24.zip",
        "Video_Speech_Actor_17.zip",
        "Video_Song_Actor_17.zip",
        "Video_Speech_Actor_18.zip",  # actor 18 recorded no song
    ]
    members = {p.name: zipfile.ZipFile(p).namelist() for p in archives}
    stems = set(corpus.stems)
    expected = {
        "Audio_Speech_Actors_01-24.zip": ("03-01-", ".wav", (17, 18)),
        "Audio_Song_Actors_01-24.zip": ("03-02-", ".wav", (17,)),
        "Video_Speech_Actor_17.zip": ("-01-", ".mp4", (17,)),
        "Video_Song_Actor_17.zip": ("-02-", ".mp4", (17,)),
        "Video_Speech_Actor_18.zip": ("-01-", ".mp4", (18,)),
    }
    for archive, (part, ext, actors) in expected.items():
        want = sorted(
            f"Actor_{int(s[-2:]):02d}/{s}{ext}"
            for s in stems
            if int(s[-2:]) in actors
            and (s.startswith(part) if part.startswith("03") else s[2:6] == part and s[:2] != "03")
        )
        assert sorted(members[archive]) == want, archive
    assert sum(len(m) for m in members.values()) == len(corpus.files)
    member = "Actor_17/01-01-05-02-01-01-17.mp4"
    with zipfile.ZipFile(tmp_path / "zips" / "Video_Speech_Actor_17.zip") as zf:
        assert zf.read(member) == (corpus.root / member).read_bytes()
    again = write_archives(corpus.root, tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in archives]


def test_archives_of_a_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        write_archives(tmp_path / "nowhere", tmp_path / "zips")
    (tmp_path / "empty").mkdir()
    assert write_archives(tmp_path / "empty", tmp_path / "zips") == []


def test_au_columns_agree_with_the_openface_reader() -> None:
    reader = pytest.importorskip("mmemo.corpora.openface_columns")
    assert reader.AU_INTENSITY_COLUMNS == AU_INTENSITY_COLUMNS
    assert reader.AU_PRESENCE_COLUMNS == AU_PRESENCE_COLUMNS


def test_synth_command_counts_every_file_it_wrote(cli, synth_corpus, monkeypatch, tmp_path):
    """The media files and the OpenFace CSVs: ``wrote N files`` is all of them."""
    import mmemo.corpora.synth as synth

    monkeypatch.setattr(synth, "create_ravdess", lambda out, **kwargs: synth_corpus)
    result = cli("synth", "ravdess", tmp_path / "unused")
    assert result.code == 0, result.err
    media, csvs = len(synth_corpus.files), len(synth_corpus.openface_files)
    assert (media, csvs) == (624, 416)
    assert f"wrote 1040 files to {synth_corpus.root}: 624 media (WAV, MP4) and 416 " in (
        result.out_text
    )
    written = [p for p in synth_corpus.root.rglob("*") if p.is_file()]
    assert len(written) == media + csvs
