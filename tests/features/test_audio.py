"""Tests of mmemo.features.audio: decoding WAV/FLAC/MP4 to 16 kHz mono float32."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mmemo.errors import InputError
from mmemo.features.audio import decode_audio, iter_decoded

av = pytest.importorskip("av")


def _tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[int(np.argmax(spectrum))])


def _write_mp4(path: Path, left: np.ndarray, right: np.ndarray, *, rate: int, video: bool) -> None:
    """An MP4 like RAVDESS's: AAC stereo audio, optionally with a small H.264 video track."""
    with av.open(str(path), "w") as container:
        vstream = None
        if video:
            vstream = container.add_stream("libx264", rate=30)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        astream = container.add_stream("aac", rate=rate, layout="stereo")
        data = np.stack([left, right]).astype(np.float32)
        for start in range(0, data.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data[:, start : start + 1024]), format="fltp", layout="stereo"
            )
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            container.mux(astream.encode(frame))
        container.mux(astream.encode(None))
        if vstream is not None:
            n_frames = int(data.shape[1] / rate * 30)
            for i in range(n_frames):
                image = np.full((48, 64, 3), (i * 8) % 256, dtype=np.uint8)
                vframe = av.VideoFrame.from_ndarray(image, format="rgb24")
                vframe.pts = i
                container.mux(vstream.encode(vframe))
            container.mux(vstream.encode(None))


def _write_video_only(path: Path) -> None:
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("libx264", rate=30)
        vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            vframe = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            vframe.pts = i
            container.mux(vstream.encode(vframe))
        container.mux(vstream.encode(None))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    tone = _tone(440.0, 1.5, 48000)
    files = {
        "wav_stereo": root / "tone48k_stereo.wav",
        "wav_half": root / "tone48k_left_only.wav",
        "flac16k": root / "tone16k.flac",
        "mp4": root / "01-01-05-02-01-01-16.mp4",
        "mp4_audio_only": root / "audio_only.mp4",
        "video_only": root / "video_only.mp4",
    }
    sf.write(files["wav_stereo"], np.stack([tone, tone], axis=1), 48000, subtype="PCM_16")
    sf.write(files["wav_half"], np.stack([tone, 0 * tone], axis=1), 48000, subtype="FLOAT")
    sf.write(files["flac16k"], _tone(300.0, 0.75, 16000), 16000, subtype="PCM_16")
    _write_mp4(files["mp4"], tone, tone, rate=48000, video=True)
    _write_mp4(files["mp4_audio_only"], tone, tone, rate=48000, video=False)
    _write_video_only(files["video_only"])
    return files


def test_wav_48k_stereo_becomes_16k_mono_float32(media: dict[str, Path]) -> None:
    wave = decode_audio(media["wav_stereo"])
    assert wave.dtype == np.float32
    assert wave.ndim == 1
    assert len(wave) == 24000  # 1.5 s at 16 kHz
    assert _peak_hz(wave, 16000) == pytest.approx(440.0, abs=1.0)
    # Away from the edges, the resampled tone is the tone itself.
    t = np.arange(len(wave)) / 16000
    expected = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    np.testing.assert_allclose(wave[1000:-1000], expected[1000:-1000], atol=2e-3)


def test_stereo_is_averaged(media: dict[str, Path]) -> None:
    wave = decode_audio(media["wav_half"])
    assert np.abs(wave[1000:-1000]).max() == pytest.approx(0.25, abs=5e-3)


def test_native_rate_needs_no_resampling(media: dict[str, Path]) -> None:
    wave = decode_audio(media["flac16k"])
    expected, rate = sf.read(media["flac16k"], dtype="float32")
    assert rate == 16000
    np.testing.assert_array_equal(wave, expected)


def test_other_target_rate(media: dict[str, Path]) -> None:
    wave = decode_audio(media["wav_stereo"], sample_rate=8000)
    assert len(wave) == 12000
    assert _peak_hz(wave, 8000) == pytest.approx(440.0, abs=1.0)


@pytest.mark.parametrize("name", ["mp4", "mp4_audio_only"])
def test_mp4_with_aac_decodes(media: dict[str, Path], name: str) -> None:
    wave = decode_audio(media[name])
    assert wave.dtype == np.float32
    assert wave.ndim == 1
    assert len(wave) == 24000
    assert _peak_hz(wave, 16000) == pytest.approx(440.0, abs=1.0)
    assert np.abs(wave[2000:-2000]).max() == pytest.approx(0.5, abs=0.03)


def test_mp4_and_wav_agree(media: dict[str, Path]) -> None:
    """Same audio, two formats, one resampler: the decoded waves nearly coincide."""
    from_wav = decode_audio(media["wav_stereo"])
    from_mp4 = decode_audio(media["mp4"])
    assert len(from_mp4) == len(from_wav)  # AAC priming and padding are trimmed
    # Aligned (the encoder delay is compensated) and close despite the lossy codec.
    assert np.abs(from_wav[2000:-2000] - from_mp4[2000:-2000]).mean() < 0.01


def test_zero_byte_file(tmp_path: Path) -> None:
    for name in ("empty.wav", "empty.mp4"):
        path = tmp_path / name
        path.write_bytes(b"")
        with pytest.raises(InputError, match=rf"{name}.*empty"):
            decode_audio(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.wav"):
        decode_audio(tmp_path / "nope.wav")


@pytest.mark.parametrize("keep", [0.5, 30])
def test_truncated_wav(media: dict[str, Path], tmp_path: Path, keep: float) -> None:
    data = media["wav_stereo"].read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: int(len(data) * keep) if keep < 1 else int(keep)])
    with pytest.raises(InputError, match="cut.wav"):
        decode_audio(path)


def test_truncated_mp4(media: dict[str, Path], tmp_path: Path) -> None:
    data = media["mp4"].read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.mp4"):
        decode_audio(path)


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="noise.mp4"):
        decode_audio(path)


def test_file_without_audio(media: dict[str, Path]) -> None:
    with pytest.raises(InputError, match=r"video_only.mp4.*no audio stream"):
        decode_audio(media["video_only"])


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_iter_decoded_keeps_order(media: dict[str, Path], workers: int) -> None:
    names = ["wav_stereo", "flac16k", "mp4", "wav_half", "mp4_audio_only"] * 3
    items = [(f"{i}-{name}", media[name]) for i, name in enumerate(names)]
    got = list(iter_decoded(items, workers=workers, prefetch=3))
    assert [key for key, _ in got] == [key for key, _ in items]
    for (_, path), (_, wave) in zip(items, got, strict=True):
        np.testing.assert_array_equal(wave, decode_audio(path))


def test_iter_decoded_names_the_bad_file(media: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF")
    items = [("a", media["wav_stereo"]), ("b", bad), ("c", media["flac16k"])]
    decoded = iter_decoded(items, workers=2)
    assert next(decoded)[0] == "a"
    with pytest.raises(InputError, match="broken.wav"):
        next(decoded)


def test_iter_decoded_is_lazy_and_closes(media: dict[str, Path]) -> None:
    consumed: list[int] = []

    def items():  # an endless stream: only the prefetch window may be pulled
        i = 0
        while True:
            consumed.append(i)
            yield str(i), media["flac16k"]
            i += 1

    decoded = iter_decoded(items(), workers=2, prefetch=4)
    first = [next(decoded)[0] for _ in range(3)]
    decoded.close()
    assert first == ["0", "1", "2"]
    assert len(consumed) <= 3 + 4


def test_iter_decoded_rejects_bad_arguments(media: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="workers"):
        list(iter_decoded([("a", media["flac16k"])], workers=0))
    with pytest.raises(InputError, match="prefetch"):
        list(iter_decoded([("a", media["flac16k"])], prefetch=0))


def test_import_is_light() -> None:
    code = (
        "import sys, mmemo.features.audio, mmemo.features.wav2vec2;"
        "bad = {'torch', 'transformers'} & set(sys.modules);"
        "sys.exit(f'heavy imports: {bad}' if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or result.stdout
