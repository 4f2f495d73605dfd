-- name: 0002_features
-- Feature rows, tagged with the registry feature set (feature_sets.id) that made them.

-- Per-clip vectors: pooled embeddings and imported per-clip features. DOUBLE, so that
-- imported values are kept exactly as given (float32 rounding moves an MLP's results).
CREATE TABLE lake.clip_vectors (
    feature_set_id INTEGER NOT NULL,
    clip_id        VARCHAR NOT NULL,
    ordinal        INTEGER NOT NULL,   -- row position in the source: the order clips are
                                       -- given to models (some, like an MLP, depend on it)
    vector         DOUBLE[] NOT NULL
);

-- Frame-level vectors (embeddings computed with --frames).
CREATE TABLE lake.frame_vectors (
    feature_set_id INTEGER NOT NULL,
    clip_id        VARCHAR NOT NULL,
    frame          INTEGER NOT NULL,   -- 0-based frame index
    vector         FLOAT[] NOT NULL
);

-- OpenFace 2.0 Action Units per video frame: 17 intensities (0-5), 18 presences (0/1).
CREATE TABLE lake.au_frames (
    feature_set_id INTEGER NOT NULL,
    clip_id        VARCHAR NOT NULL,
    frame          INTEGER NOT NULL,   -- OpenFace's frame number (1-based)
    timestamp      DOUBLE NOT NULL,    -- seconds
    confidence     DOUBLE NOT NULL,
    success        BOOLEAN NOT NULL,
    AU01_r DOUBLE,
    AU02_r DOUBLE,
    AU04_r DOUBLE,
    AU05_r DOUBLE,
    AU06_r DOUBLE,
    AU07_r DOUBLE,
    AU09_r DOUBLE,
    AU10_r DOUBLE,
    AU12_r DOUBLE,
    AU14_r DOUBLE,
    AU15_r DOUBLE,
    AU17_r DOUBLE,
    AU20_r DOUBLE,
    AU23_r DOUBLE,
    AU25_r DOUBLE,
    AU26_r DOUBLE,
    AU45_r DOUBLE,
    AU01_c DOUBLE,
    AU02_c DOUBLE,
    AU04_c DOUBLE,
    AU05_c DOUBLE,
    AU06_c DOUBLE,
    AU07_c DOUBLE,
    AU09_c DOUBLE,
    AU10_c DOUBLE,
    AU12_c DOUBLE,
    AU14_c DOUBLE,
    AU15_c DOUBLE,
    AU17_c DOUBLE,
    AU20_c DOUBLE,
    AU23_c DOUBLE,
    AU25_c DOUBLE,
    AU26_c DOUBLE,
    AU28_c DOUBLE,
    AU45_c DOUBLE,
    extra          MAP(VARCHAR, DOUBLE) -- other OpenFace columns, only with --keep-all
);
