-- name: 0004_float_embeddings
-- Pooled embeddings computed by `mmemo embed` (one vector per clip), stored as FLOAT: the
-- models compute in float32, so FLOAT keeps every value exactly at half the bytes of DOUBLE.
-- Imported per-clip features keep their own precision in lake.clip_vectors (DOUBLE), as do
-- embedding sets written before this table existed (the views read both).
CREATE TABLE lake.clip_embeddings (
    feature_set_id INTEGER NOT NULL,
    clip_id        VARCHAR NOT NULL,
    ordinal        INTEGER NOT NULL,   -- the order clips are given to models (as clip_vectors)
    vector         FLOAT[] NOT NULL
);
