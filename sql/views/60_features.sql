-- name: clip_embeddings, clip_vectors, frame_vectors, au_frames, au_means, au_sequences
-- Feature rows of complete feature sets, with the set's name and version.

-- Pooled embeddings (`mmemo embed`), FLOAT: lake.clip_embeddings, plus the embedding sets of
-- stores made before it, whose float32 values lake.clip_vectors holds as DOUBLE (exactly).
CREATE OR REPLACE TEMP VIEW clip_embeddings AS
SELECT f.name AS feature_set, f.version, v.clip_id, v.ordinal, v.vector
FROM lake.clip_embeddings AS v
JOIN feature_sets AS f ON f.id = v.feature_set_id AND f.status = 'complete'
UNION ALL
SELECT f.name, f.version, v.clip_id, v.ordinal, v.vector::FLOAT[]
FROM lake.clip_vectors AS v
JOIN feature_sets AS f ON f.id = v.feature_set_id AND f.status = 'complete'
    AND f.kind = 'embedding';

-- Every per-clip vector, DOUBLE: imported features at their own precision and pooled
-- embeddings (float32 values widened exactly).
CREATE OR REPLACE TEMP VIEW clip_vectors AS
SELECT f.name AS feature_set, f.version, v.clip_id, v.ordinal, v.vector
FROM lake.clip_vectors AS v
JOIN feature_sets AS f ON f.id = v.feature_set_id AND f.status = 'complete'
UNION ALL
SELECT f.name, f.version, v.clip_id, v.ordinal, v.vector::DOUBLE[]
FROM lake.clip_embeddings AS v
JOIN feature_sets AS f ON f.id = v.feature_set_id AND f.status = 'complete';

CREATE OR REPLACE TEMP VIEW frame_vectors AS
SELECT f.name AS feature_set, f.version, v.clip_id, v.frame, v.vector
FROM lake.frame_vectors AS v
JOIN feature_sets AS f ON f.id = v.feature_set_id AND f.status = 'complete';

CREATE OR REPLACE TEMP VIEW au_frames AS
SELECT f.name AS feature_set, f.version, a.* EXCLUDE (feature_set_id)
FROM lake.au_frames AS a
JOIN feature_sets AS f ON f.id = a.feature_set_id AND f.status = 'complete';

-- The 35 AU columns are named once, in the lake's DDL (sql/lake/0002_features.sql): these
-- views take them by pattern, in table order (17 intensities AUxx_r, then 18 presences AUxx_c).

-- Per-clip mean of the 35 AU columns over the kept frames: the static models' input.
CREATE OR REPLACE TEMP VIEW au_means AS
SELECT feature_set, version, clip_id, count(*) AS n_frames,
    avg(COLUMNS('^AU[0-9]{2}_[rc]$'))
FROM au_frames
GROUP BY feature_set, version, clip_id;

-- Per-clip sequence of 35-value AU vectors in frame order: the bi-LSTM's input.
CREATE OR REPLACE TEMP VIEW au_sequences AS
SELECT feature_set, version, clip_id, count(*) AS n_frames,
    list([*COLUMNS('^AU[0-9]{2}_[rc]$')]::FLOAT[] ORDER BY frame) AS frames
FROM au_frames
GROUP BY feature_set, version, clip_id;
