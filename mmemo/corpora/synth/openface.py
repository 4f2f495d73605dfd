"""OpenFace 2.0 ``FeatureExtraction`` CSVs of a synthetic recording (714 columns).

The action units follow a FACS-like prototype per emotion (happy: AU06 + AU12, sad: AU01 +
AU04 + AU15, ...); landmarks, head pose, gaze and the point-distribution-model parameters move
with them, and frames OpenFace would fail to track are zeros, as in its real output.
"""

from __future__ import annotations

import numpy as np

from mmemo.corpora.openface_columns import AU_INTENSITY_COLUMNS, AU_PRESENCE_COLUMNS
from mmemo.corpora.synth.recordings import (
    FACE_STREAM,
    LANDMARK_TEMPLATE,
    Actor,
    Recording,
    smooth_noise,
)

OPENFACE_FPS = 30

_AU_R = tuple(int(c[2:4]) for c in AU_INTENSITY_COLUMNS)
_AU_C = tuple(int(c[2:4]) for c in AU_PRESENCE_COLUMNS)


def _openface_layout() -> list[tuple[str, str]]:
    """Column names of OpenFace 2.0 ``FeatureExtraction`` with their printf formats.

    The precisions follow OpenFace's ``RecorderCSV``: timestamp 3 decimals, confidence 2,
    gaze vectors 6, gaze angles 3, landmarks 1, head translation 1 and rotation 3, model
    parameters 3, AU intensities 2 and AU presences 1.
    """
    cols: list[tuple[str, str]] = [
        ("frame", "%d"),
        ("face_id", "%d"),
        ("timestamp", "%.3f"),
        ("confidence", "%.2f"),
        ("success", "%d"),
    ]
    cols += [(f"gaze_{eye}_{axis}", "%.6f") for eye in (0, 1) for axis in "xyz"]
    cols += [("gaze_angle_x", "%.3f"), ("gaze_angle_y", "%.3f")]
    cols += [(f"eye_lmk_{axis}_{i}", "%.1f") for axis in "xyXYZ" for i in range(56)]
    cols += [(f"pose_T{axis}", "%.1f") for axis in "xyz"]
    cols += [(f"pose_R{axis}", "%.3f") for axis in "xyz"]
    cols += [(f"{axis}_{i}", "%.1f") for axis in "xyXYZ" for i in range(68)]
    cols += [(name, "%.3f") for name in ("p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty")]
    cols += [(f"p_{i}", "%.3f") for i in range(34)]
    cols += [(name, "%.2f") for name in AU_INTENSITY_COLUMNS]
    cols += [(name, "%.1f") for name in AU_PRESENCE_COLUMNS]
    return cols


_LAYOUT = _openface_layout()
#: The 714 column names of an OpenFace 2.0 ``FeatureExtraction`` CSV, in file order (stripped:
#: the file itself separates them by ", ", so a naive reader sees a leading space).
OPENFACE_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _LAYOUT)
if len(OPENFACE_COLUMNS) != 714:  # pragma: no cover - guards the table above
    raise RuntimeError(f"OpenFace layout has {len(OPENFACE_COLUMNS)} columns, expected 714")
_COL = {name: i for i, name in enumerate(OPENFACE_COLUMNS)}
_HEADER = ", ".join(OPENFACE_COLUMNS) + "\n"
_ROW_FORMAT = ", ".join(fmt for _, fmt in _LAYOUT)

#: FACS-like action-unit prototype per emotion at normal intensity (0-5 scale); strong
#: intensity scales it by 1.5. Units not named stay near a small baseline.
AU_PROTOTYPES: dict[str, dict[str, float]] = {
    "neutral": {},
    "calm": {"AU12": 0.6},
    "happy": {"AU06": 2.4, "AU12": 3.0, "AU25": 1.4, "AU10": 0.6},
    "sad": {"AU01": 2.0, "AU04": 1.8, "AU15": 2.0, "AU17": 1.0},
    "angry": {"AU04": 2.8, "AU07": 2.2, "AU23": 2.0, "AU05": 0.8, "AU17": 0.8},
    "fearful": {"AU01": 2.2, "AU02": 1.8, "AU04": 1.6, "AU05": 1.8, "AU20": 2.2, "AU25": 1.2},
    "disgust": {"AU09": 2.6, "AU10": 2.2, "AU04": 1.0, "AU15": 0.8, "AU17": 0.8},
    "surprised": {"AU01": 2.6, "AU02": 2.4, "AU05": 2.2, "AU26": 2.6, "AU25": 1.8},
}


_MOUTH_LOWER = np.array(
    [i for i in range(48, 68) if LANDMARK_TEMPLATE[i, 1] > 0.36 + 1e-6], dtype=int
)
_AU_INDEX = {f"AU{au:02d}": i for i, au in enumerate(_AU_R)}
_BLINK = np.array([1.0, 2.5, 3.5, 2.5, 1.0])
_PROTOTYPE_ARRAYS = {
    label: np.array([units.get(f"AU{au:02d}", 0.0) for au in _AU_R])
    for label, units in AU_PROTOTYPES.items()
}
#: The emotion whose face a take sometimes borrows from.
_CONFUSED_WITH = {
    "neutral": "calm",
    "calm": "neutral",
    "happy": "surprised",
    "sad": "fearful",
    "angry": "disgust",
    "fearful": "surprised",
    "disgust": "angry",
    "surprised": "fearful",
}


def _au_intensities(rec: Recording, actor: Actor, rng: np.random.Generator, n: int) -> np.ndarray:
    """AU intensities ``(n, 17)``: the emotion prototype over an onset-apex-offset envelope."""
    # Some takes blend in the face of an easily confused emotion, as real actors' faces do.
    blend = rng.uniform(0.0, 0.7) if rng.random() < 0.4 else 0.0
    proto = (1 - blend) * _PROTOTYPE_ARRAYS[rec.label]
    proto = (proto + blend * _PROTOTYPE_ARRAYS[_CONFUSED_WITH[rec.label]]) * rec.strength
    t = np.linspace(0.0, 1.0, n)
    onset, offset = rng.uniform(0.1, 0.25), rng.uniform(0.75, 0.9)
    shape = np.clip(np.minimum(t / onset, (1 - t) / (1 - offset)), 0, 1)
    shape = shape * shape * (3 - 2 * shape)  # smoothstep
    talk = 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 2.0 * t * n / OPENFACE_FPS))
    # How strongly this take shows each unit varies from take to take and actor to actor.
    gain = actor.expressiveness * rng.lognormal(0.0, 0.45) * rng.lognormal(0.0, 0.6, len(_AU_R))
    values = 0.15 + actor.au_offset + shape[:, None] * (proto * gain)[None, :]
    values = values + 0.35 * smooth_noise(rng, n, len(_AU_R), 7)
    values[:, _AU_INDEX["AU25"]] += 0.9 * shape * talk  # the mouth parts while speaking
    values[:, _AU_INDEX["AU26"]] += 0.5 * shape * talk
    blinks = (rng.random(n) < 0.4 / OPENFACE_FPS).astype(float)  # about 0.4 blinks a second
    values[:, _AU_INDEX["AU45"]] += np.convolve(blinks, _BLINK)[2 : 2 + n]
    return np.clip(values, 0.0, 5.0)


def _openface_frame_table(rec: Recording, actor: Actor, seed: int, duration: float) -> np.ndarray:
    """The numeric content ``(n, 714)`` of one OpenFace CSV."""
    rng = np.random.default_rng(rec.seed_words(seed, FACE_STREAM))
    n = max(1, round(duration * OPENFACE_FPS))
    table = np.zeros((n, len(OPENFACE_COLUMNS)))
    table[:, _COL["frame"]] = np.arange(1, n + 1)
    table[:, _COL["timestamp"]] = np.arange(n) / OPENFACE_FPS
    confidence = np.full(n, 0.98)
    dips = rng.random(n) < 0.04
    confidence[dips] = rng.uniform(0.05, 0.9, dips.sum())
    success = confidence >= 0.7
    table[:, _COL["confidence"]] = confidence
    table[:, _COL["success"]] = success

    # Head pose: slow wander around the actor's position.
    motion = smooth_noise(rng, n, 6, 9)
    tx, ty, tz = 20.0 + 6 * motion[:, 0], -15.0 + 5 * motion[:, 1], 520.0 + 12 * motion[:, 2]
    rx, ry, rz = 0.08 + 0.04 * motion[:, 3], -0.03 + 0.05 * motion[:, 4], 0.02 * motion[:, 5]
    pose = np.stack([tx, ty, tz, rx, ry, rz], axis=1)
    table[:, _COL["pose_Tx"] : _COL["pose_Rz"] + 1] = pose

    # Gaze: two unit vectors pointing roughly at the camera.
    gaze_dir = np.stack(
        [0.05 + 0.08 * motion[:, 4], 0.12 + 0.06 * motion[:, 3], -np.ones(n)], axis=1
    )
    gaze = np.concatenate(
        [gaze_dir + (-0.03, 0, 0), gaze_dir + (0.03, 0, 0)], axis=1
    ) + 0.01 * rng.standard_normal((n, 6))
    gaze = gaze.reshape(n, 2, 3)
    gaze /= np.linalg.norm(gaze, axis=2, keepdims=True)
    table[:, _COL["gaze_0_x"] : _COL["gaze_1_z"] + 1] = gaze.reshape(n, 6)
    mean_gaze = gaze.mean(axis=1)
    table[:, _COL["gaze_angle_x"]] = np.arctan2(mean_gaze[:, 0], -mean_gaze[:, 2])
    table[:, _COL["gaze_angle_y"]] = np.arctan2(mean_gaze[:, 1], -mean_gaze[:, 2])

    # Action units.
    au_r = _au_intensities(rec, actor, rng, n).round(2)  # as printed, for consistent presences
    table[:, _COL["AU01_r"] : _COL["AU45_r"] + 1] = au_r
    au_c = np.zeros((n, len(_AU_C)))
    for j, au in enumerate(_AU_C):
        if au == 28:
            lip_suck = 0.6 if rec.label in ("sad", "fearful") else 0.0
            au_c[:, j] = (smooth_noise(rng, n, 1, 9)[:, 0] + lip_suck) > 1.4
        else:
            au_c[:, j] = au_r[:, _AU_R.index(au)] >= 1.0
    table[:, _COL["AU01_c"] : _COL["AU45_c"] + 1] = au_c

    # 2D landmarks: template, scaled and moved with the head; mouth opens with AU25/AU26.
    scale = actor.face_scale * (520.0 / tz)
    shape2d = np.broadcast_to(actor.landmarks, (n, 68, 2)).copy()
    opening = 0.012 * (au_r[:, _AU_INDEX["AU25"]] + 1.5 * au_r[:, _AU_INDEX["AU26"]])
    shape2d[:, _MOUTH_LOWER, 1] += opening[:, None]
    smile = 0.01 * au_r[:, _AU_INDEX["AU12"]]
    shape2d[:, [48, 54], 0] += np.stack([-smile, smile], axis=1)
    shape2d[:, [48, 54], 1] -= smile[:, None]
    brow = 0.01 * (au_r[:, _AU_INDEX["AU01"]] + au_r[:, _AU_INDEX["AU02"]])
    shape2d[:, 17:27, 1] -= brow[:, None]
    shape2d += 0.003 * rng.standard_normal(shape2d.shape)
    centre_x = actor.face_xy[0] + 2.0 * (tx - 20.0)
    centre_y = actor.face_xy[1] + 2.0 * (ty + 15.0)
    x2d = centre_x[:, None] + scale[:, None] * shape2d[:, :, 0]
    y2d = centre_y[:, None] + scale[:, None] * shape2d[:, :, 1]
    table[:, _COL["x_0"] : _COL["x_67"] + 1] = x2d
    table[:, _COL["y_0"] : _COL["y_67"] + 1] = y2d
    # 3D landmarks in millimetres, camera coordinates.
    mm = 145.0
    depth = 40.0 * (1 - np.clip(np.abs(shape2d[:, :, 0]) * 2, 0, 1)) ** 2
    table[:, _COL["X_0"] : _COL["X_67"] + 1] = tx[:, None] + mm * shape2d[:, :, 0]
    table[:, _COL["Y_0"] : _COL["Y_67"] + 1] = ty[:, None] + mm * shape2d[:, :, 1]
    table[:, _COL["Z_0"] : _COL["Z_67"] + 1] = tz[:, None] - depth

    # Eye landmarks follow the face.
    eyes = actor.eye_landmarks
    eye_x = centre_x[:, None] + scale[:, None] * eyes[None, :, 0]
    eye_y = centre_y[:, None] + scale[:, None] * eyes[None, :, 1]
    eye_y = eye_y + 0.5 * rng.standard_normal(eye_y.shape)
    table[:, _COL["eye_lmk_x_0"] : _COL["eye_lmk_x_55"] + 1] = eye_x
    table[:, _COL["eye_lmk_y_0"] : _COL["eye_lmk_y_55"] + 1] = eye_y
    table[:, _COL["eye_lmk_X_0"] : _COL["eye_lmk_X_55"] + 1] = tx[:, None] + mm * eyes[None, :, 0]
    table[:, _COL["eye_lmk_Y_0"] : _COL["eye_lmk_Y_55"] + 1] = ty[:, None] + mm * eyes[None, :, 1]
    table[:, _COL["eye_lmk_Z_0"] : _COL["eye_lmk_Z_55"] + 1] = tz[:, None] - 25.0

    # Point-distribution-model parameters: rigid (scale, rotation, translation) then shape.
    table[:, _COL["p_scale"]] = scale / 200.0 * 0.9
    table[:, _COL["p_rx"] : _COL["p_rz"] + 1] = pose[:, 3:]
    table[:, _COL["p_tx"]] = centre_x
    table[:, _COL["p_ty"]] = centre_y
    expression = np.zeros((n, 34))
    expression[:, 0:17] = au_r @ _EXPRESSION_BASIS
    table[:, _COL["p_0"] : _COL["p_33"] + 1] = (
        actor.shape_params[None, :] + expression + 0.3 * rng.standard_normal((n, 34))
    )

    # Failed frames: OpenFace writes zeros for everything it could not track.
    table[~success, _COL["gaze_0_x"] :] = 0.0
    return table


_EXPRESSION_BASIS = np.random.default_rng([0, 99]).normal(0.0, 1.0, (17, 17))


def openface_csv(rec: Recording, actor: Actor, seed: int, duration: float) -> str:
    """The text of one OpenFace 2.0 CSV: ``", "``-separated header and rows."""
    table = _openface_frame_table(rec, actor, seed, duration)
    fmt = _ROW_FORMAT + "\n"
    body = "".join(fmt % tuple(row) for row in table.tolist())
    return _HEADER + body
