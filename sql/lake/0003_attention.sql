-- name: 0003_attention
-- Per-frame attention weights of sequence models (bi-LSTM), for every clip of every fold.
CREATE TABLE lake.attention (
    run_id  INTEGER NOT NULL,     -- registry runs.id
    fold    SMALLINT NOT NULL,
    split   VARCHAR NOT NULL,     -- train | test
    clip_id VARCHAR NOT NULL,
    frame   INTEGER NOT NULL,     -- position in the clip's sequence (0-based)
    weight  FLOAT NOT NULL        -- softmax over the clip's valid frames (sums to 1)
);
