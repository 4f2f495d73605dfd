"""The pictures and MP4 files of a synthetic recording.

Frames are coloured by the emotion, with a face whose mouth opens with the voice; full-AV files
are H.264 64x48 at 15 fps plus AAC 48 kHz stereo, video-only files the same H.264 stream alone.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from mmemo.corpora.synth.audio import SAMPLE_RATE
from mmemo.corpora.synth.recordings import VIDEO_STREAM, Actor, Recording, smooth_noise

VIDEO_FPS = 15
VIDEO_SIZE = (64, 48)  # width, height
AAC_BIT_RATE = 48_000

#: Background colour (RGB) of the pictures per emotion.
_COLOURS: dict[str, tuple[int, int, int]] = {
    "neutral": (128, 128, 128),
    "calm": (90, 150, 200),
    "happy": (240, 200, 60),
    "sad": (40, 60, 140),
    "angry": (200, 40, 30),
    "fearful": (120, 60, 160),
    "disgust": (80, 140, 50),
    "surprised": (240, 120, 200),
}

_W, _H = VIDEO_SIZE
_YY, _XX = np.mgrid[0:_H, 0:_W]


def synth_pictures(
    rec: Recording, actor: Actor, seed: int, duration: float, envelope: np.ndarray
) -> np.ndarray:
    """RGB frames ``(n, H, W, 3)`` uint8: emotion-coloured background, a face, a moving mouth."""
    rng = np.random.default_rng(rec.seed_words(seed, VIDEO_STREAM))
    n = max(1, round(duration * VIDEO_FPS))
    idx = np.minimum((np.arange(n) / VIDEO_FPS * SAMPLE_RATE).astype(int), len(envelope) - 1)
    mouth = envelope[idx]  # (n,)
    sway = smooth_noise(rng, n, 2, 5) * 0.8  # head motion in pixels

    base = np.array(_COLOURS[rec.label], float)
    if rec.intensity == 2:
        base = np.clip(128 + 1.3 * (base - 128), 0, 255)
    frames = np.empty((n, _H, _W, 3), np.float32)
    frames[:] = base
    cx = _W / 2 + (actor.face_xy[0] - 640) / 40 + sway[:, 0, None, None]
    cy = _H / 2 + (actor.face_xy[1] - 330) / 40 + sway[:, 1, None, None]
    rx, ry = 0.22 * _W * actor.face_scale / 200, 0.38 * _H * actor.face_scale / 200
    face = ((_XX - cx) / rx) ** 2 + ((_YY - cy) / ry) ** 2 <= 1.0
    frames[face] = actor.skin
    mouth_h = 1.0 + 5.0 * mouth[:, None, None]
    in_mouth = (np.abs(_XX - cx) <= rx * 0.45) & (np.abs(_YY - (cy + ry * 0.45)) <= mouth_h / 2)
    frames[in_mouth] = (60, 20, 20)
    frames += 2.0 * rng.standard_normal(frames.shape, dtype=np.float32)
    return np.clip(np.round(frames), 0, 255).astype(np.uint8)


def write_mp4(
    path: Path, frames: np.ndarray, audio: np.ndarray | None, video_from: Path | None = None
) -> None:
    """Write an MP4 file: H.264 video, plus AAC 48 kHz stereo when ``audio`` is given.

    Args:
        path: File to write.
        frames: RGB frames ``(n, H, W, 3)`` to encode when ``video_from`` is None.
        audio: Mono samples at 48 kHz (written to both channels), or None for no sound.
        video_from: An MP4 file whose H.264 stream is copied instead of encoding ``frames``
            (the full-AV file of a recording carries the video-only file's pictures).
    """
    import av

    with contextlib.ExitStack() as stack:
        container = stack.enter_context(av.open(str(path), "w", format="mp4"))
        # The video stream comes first, as in the real files.
        if video_from is None:
            video = container.add_stream(
                "libx264", rate=VIDEO_FPS, options={"preset": "ultrafast", "crf": "28"}
            )
            video.width, video.height, video.pix_fmt = _W, _H, "yuv420p"
            video.codec_context.thread_count = 1
        else:
            source = stack.enter_context(av.open(str(video_from)))
            template = source.streams.video[0]
            video = container.add_stream_from_template(template)
        sound = None
        if audio is not None:
            sound = container.add_stream(
                "aac", rate=SAMPLE_RATE, layout="stereo", options={"aac_coder": "fast"}
            )
            sound.bit_rate = AAC_BIT_RATE
        if video_from is None:
            for i, image in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = i
                frame.time_base = Fraction(1, VIDEO_FPS)
                container.mux(video.encode(frame))
            container.mux(video.encode(None))
        else:
            for packet in source.demux(template):
                if packet.dts is None:
                    continue
                packet.stream = video
                container.mux(packet)
        if sound is not None and audio is not None:
            stereo = np.stack([audio, audio]).astype(np.float32)
            chunk = 1024 * 16
            for start in range(0, stereo.shape[1], chunk):
                piece = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(stereo[:, start : start + chunk]),
                    format="fltp",
                    layout="stereo",
                )
                piece.sample_rate = SAMPLE_RATE
                piece.pts = start
                piece.time_base = Fraction(1, SAMPLE_RATE)
                container.mux(sound.encode(piece))
            container.mux(sound.encode(None))
