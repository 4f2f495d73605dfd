"""Audio decoding: any RAVDESS file (WAV, FLAC, MP4/AAC...) to 16 kHz mono float32.

Two readers, one resampler: soundfile (libsndfile) reads WAV/FLAC/OGG/AIFF, PyAV (FFmpeg's
libraries, no subprocess) reads containers such as MP4 with AAC audio. Both give float32 at the
file's own rate; channels are averaged to mono and soxr resamples to the target rate, so the WAV
and the MP4 version of the same recording go through the same resampler.

Example:
    >>> wave = decode_audio("01-01-05-02-01-01-16.wav")  # doctest: +SKIP
    >>> for clip_id, wave in iter_decoded(items, workers=2):  # doctest: +SKIP
    ...     ...
"""

from __future__ import annotations

import logging
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mmemo.errors import InputError, MmemoError

__all__ = ["SOUNDFILE_SUFFIXES", "decode_audio", "iter_decoded"]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: Suffixes read with soundfile; anything else goes through PyAV.
SOUNDFILE_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff"})

# libsndfile's log says e.g. "data : 192000 (should be 95978)" for a cut-off WAV.
_SNDFILE_SHORT_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# Placeholder sizes written by streaming encoders (size unknown when the header was written).
_UNKNOWN_SIZES = frozenset({0, 0x7FFFFFFF, 0xFFFFFFFF})
# A container whose decoded audio is shorter than its declared duration by more than this is
# reported as truncated.
_MAX_SHORTFALL_S = 0.1


def decode_audio(path: PathLike, *, sample_rate: int = 16000) -> np.ndarray:
    """Decode an audio or audio-visual file to mono float32 at ``sample_rate``.

    Args:
        path: WAV/FLAC/OGG/AIFF file (read with soundfile) or any container FFmpeg reads, such
            as MP4 with AAC audio (read with PyAV; the first audio stream is used).
        sample_rate: Target rate in Hz; resampling is done with soxr (high quality).

    Returns:
        1-D float32 array of samples in [-1, 1] (channels averaged).

    Raises:
        InputError: the file is missing, empty, truncated, has no audio stream or cannot be
            decoded; the message names the file.
    """
    path = Path(path)
    if sample_rate <= 0:
        raise InputError(f"sample_rate must be positive, got {sample_rate}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    if size == 0:
        raise InputError(f"{path}: file is empty (0 bytes)")

    if path.suffix.lower() in SOUNDFILE_SUFFIXES:
        channels, native_rate = _read_soundfile(path)
    else:
        channels, native_rate = _read_av(path)

    mono = channels.mean(axis=0, dtype=np.float32) if channels.shape[0] > 1 else channels[0]
    if mono.size == 0:
        raise InputError(f"{path}: no audio samples")
    if native_rate != sample_rate:
        import soxr

        mono = soxr.resample(mono, native_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    """Read a file with libsndfile; return (channels × samples float32, rate)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        match = _SNDFILE_SHORT_DATA.search(info.extra_info or "")
        if match:
            declared, present = int(match.group(1)), int(match.group(2))
            if present < declared and declared not in _UNKNOWN_SIZES:
                raise InputError(
                    f"{path}: file is truncated ({present} of {declared} bytes of audio data)"
                )
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        raise InputError(f"{path}: cannot decode audio ({exc.error_string})") from exc
    except (RuntimeError, ValueError) as exc:
        raise InputError(f"{path}: cannot decode audio ({exc})") from exc
    if data.shape[0] == 0:
        raise InputError(f"{path}: no audio samples")
    return np.ascontiguousarray(data.T), int(rate)


def _read_av(path: Path) -> tuple[np.ndarray, int]:
    """Read the first audio stream of a container with PyAV; return (channels × samples, rate)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InputError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            # Only the sample format changes (to planar float); rate and layout stay, so that
            # channel averaging and resampling are the same as for soundfile input. AAC already
            # decodes to planar float, which needs no conversion at all.
            resampler = av.AudioResampler(format="fltp")
            chunks: list[np.ndarray] = []
            rate = 0
            for frame in container.decode(stream):
                rate = rate or frame.sample_rate
                if frame.format.name == "fltp":
                    chunks.append(frame.to_ndarray())
                else:
                    chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray() for out in resampler.resample(None))
            declared_s = (
                float(stream.duration * stream.time_base)
                if stream.duration is not None and stream.time_base is not None
                else None
            )
    except InputError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot decode audio ({_av_reason(exc)})") from exc
    if not chunks or rate <= 0:
        raise InputError(f"{path}: no audio samples")
    data = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if declared_s is not None:
        expected = round(declared_s * rate)
        if data.shape[1] + _MAX_SHORTFALL_S * rate < expected:
            raise InputError(
                f"{path}: file is truncated ({data.shape[1] / rate:.2f} s of audio decoded, "
                f"{declared_s:.2f} s declared)"
            )
        # AAC encoders pad the last frame; keep the duration the container declares.
        if 0 < expected < data.shape[1]:
            data = data[:, :expected]
    return data, int(rate)


def _av_reason(exc: BaseException) -> str:
    """A short reason for an FFmpeg error, without repeating the file name."""
    strerror = getattr(exc, "strerror", None)
    return str(strerror) if strerror else str(exc)


def iter_decoded(
    items: Iterable[tuple[str, PathLike]],
    *,
    workers: int = 2,
    prefetch: int = 16,
    sample_rate: int = 16000,
) -> Iterator[tuple[str, np.ndarray]]:
    """Decode files in background threads and yield them in input order.

    Decoding runs ahead of the consumer by up to ``prefetch`` files, so a model consuming the
    waves does not wait on I/O. libsndfile, FFmpeg and soxr release the GIL while they work,
    so threads scale without the pickling cost of a process pool.

    Args:
        items: ``(key, path)`` pairs, e.g. clip ids and their files; consumed lazily.
        workers: Number of decoding threads (>= 1).
        prefetch: Maximum number of files decoded ahead of the consumer (>= 1).
        sample_rate: Target rate in Hz, as for :func:`decode_audio`.

    Yields:
        ``(key, wave)`` pairs in the order of ``items``.

    Raises:
        InputError: a file cannot be decoded (the message names it). Files after it are not
            yielded; pending work is cancelled.
    """
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    if prefetch < 1:
        raise InputError(f"prefetch must be >= 1, got {prefetch}")
    pending: deque[tuple[str, Path, Future[np.ndarray]]] = deque()
    source = iter(items)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmemo-decode")
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < max(prefetch, workers):
                try:
                    key, path = next(source)
                except StopIteration:
                    exhausted = True
                    break
                path = Path(path)
                pending.append(
                    (key, path, executor.submit(decode_audio, path, sample_rate=sample_rate))
                )
            if not pending:
                return
            key, path, future = pending.popleft()
            try:
                wave = future.result()
            except MmemoError:
                raise
            except Exception as exc:  # unexpected library failure: still name the file
                raise InputError(f"{path}: cannot decode audio ({exc})") from exc
            yield key, wave
    finally:
        for _, _, future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
