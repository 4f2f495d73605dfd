"""Facts about a media file read from its headers (no full decode)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from mmemo.corpora.sources import SourceFile, read_bytes
from mmemo.hashing import sha256_bytes


class BadMediaError(ValueError):
    """A zero-byte, truncated or unreadable media file."""


@dataclass(frozen=True)
class MediaInfo:
    container: str
    size_bytes: int
    duration: float | None
    sample_rate: int | None
    channels: int | None
    content_hash: str


def probe(item: SourceFile) -> MediaInfo:
    """Container, duration, sample rate, channels and sha256 of one file.

    Raises:
        BadMediaError: empty, truncated or unreadable file (the message says which).
        mmemo.errors.InputError: the file cannot be read at all.
    """
    data = read_bytes(item)
    if not data:
        raise BadMediaError(f"{item.where}: empty file (0 bytes)")
    digest = sha256_bytes(data)
    container = item.suffix.lstrip(".")
    if container == "wav":
        duration, rate, channels = _probe_wav(data, item.where)
    else:
        duration, rate, channels = _probe_container(data, item.where)
    return MediaInfo(container, len(data), duration, rate, channels, digest)


def _probe_wav(data: bytes, where: str) -> tuple[float, int, int]:
    import soundfile

    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise BadMediaError(f"{where}: not a RIFF/WAVE file")
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 > len(data):
        raise BadMediaError(
            f"{where}: truncated ({len(data)} bytes, header announces {riff_size + 8})"
        )
    header = _pcm_header(data)
    if header is not None:
        frames, rate, channels = header
    else:  # another encoding or an odd layout: libsndfile reads it
        try:
            info = soundfile.info(io.BytesIO(data))
        except (RuntimeError, soundfile.LibsndfileError) as exc:
            raise BadMediaError(f"{where}: unreadable WAV ({exc})") from None
        frames, rate, channels = info.frames, int(info.samplerate), int(info.channels)
    if frames <= 0:
        raise BadMediaError(f"{where}: no audio frames")
    return frames / rate, rate, channels


#: WAVE format tags whose frames are a fixed number of bytes: PCM, IEEE float, extensible.
_FIXED_FRAME_TAGS = (1, 3, 0xFFFE)


def _pcm_header(data: bytes) -> tuple[int, int, int] | None:
    """``(frames, sample rate, channels)`` of a PCM or float WAV from its ``fmt `` and
    ``data`` chunks, or None where they are not plainly there (libsndfile decides then).

    Ten times cheaper than ``soundfile.info`` on an in-memory file (0.14 ms a file, which
    made a quarter of a million short files a minute of probing)."""
    fmt: tuple[int, int, int, int] | None = None
    at = 12
    while at + 8 <= len(data):
        chunk, size = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if chunk == b"fmt " and size >= 16:
            tag, channels, rate, _, align = struct.unpack_from("<HHIIH", data, at + 8)
            fmt = (tag, channels, rate, align)
        elif chunk == b"data":
            if fmt is None or fmt[0] not in _FIXED_FRAME_TAGS or not fmt[1] or not fmt[2]:
                return None
            if not fmt[3]:
                return None
            present = min(size, len(data) - at - 8)
            return present // fmt[3], fmt[2], fmt[1]
        at += 8 + size + (size & 1)
    return None


def _probe_container(data: bytes, where: str) -> tuple[float | None, int | None, int | None]:
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            duration = container.duration / 1e6 if container.duration else None
            audio = next(iter(container.streams.audio), None)
            rate = audio.codec_context.sample_rate if audio is not None else None
            channels = audio.codec_context.channels if audio is not None else None
            # Demux (no decoding) to find a file cut short after its header.
            end = 0
            for packet in container.demux():
                if packet.pos is not None and packet.pos >= 0 and packet.size:
                    end = max(end, packet.pos + packet.size)
            if end > len(data):
                raise BadMediaError(f"{where}: truncated (data runs past the end of the file)")
    except BadMediaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise BadMediaError(f"{where}: unreadable or truncated media ({exc})") from None
    if duration is None:
        raise BadMediaError(f"{where}: no duration in the header")
    return duration, rate, channels
