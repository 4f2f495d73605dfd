-- name: clip_vectors, frame_vectors, au_frames, au_means, au_sequences
-- Feature rows of complete feature sets, with the set's name and version.
CREATE OR REPLACE TEMP VIEW clip_vectors AS
SELECT f.name AS feature_set, f.version, v.clip_id, v.ordinal, v.vector
FROM lake.clip_vectors AS v
JOIN feature_sets AS f ON f.id = v.feature_set_id AND f.status = 'complete';

CREATE OR REPLACE TEMP VIEW frame_vectors AS
SELECT f.name AS feature_set, f.version, v.clip_id, v.frame, v.vector
FROM lake.frame_vectors AS v
JOIN feature_sets AS f ON f.id = v.feature_set_id AND f.status = 'complete';

CREATE OR REPLACE TEMP VIEW au_frames AS
SELECT f.name AS feature_set, f.version, a.* EXCLUDE (feature_set_id)
FROM lake.au_frames AS a
JOIN feature_sets AS f ON f.id = a.feature_set_id AND f.status = 'complete';

-- Per-clip mean of the 35 AU columns over the kept frames: the static models' input.
CREATE OR REPLACE TEMP VIEW au_means AS
SELECT feature_set, version, clip_id, count(*) AS n_frames,
    avg(AU01_r) AS AU01_r,
    avg(AU02_r) AS AU02_r,
    avg(AU04_r) AS AU04_r,
    avg(AU05_r) AS AU05_r,
    avg(AU06_r) AS AU06_r,
    avg(AU07_r) AS AU07_r,
    avg(AU09_r) AS AU09_r,
    avg(AU10_r) AS AU10_r,
    avg(AU12_r) AS AU12_r,
    avg(AU14_r) AS AU14_r,
    avg(AU15_r) AS AU15_r,
    avg(AU17_r) AS AU17_r,
    avg(AU20_r) AS AU20_r,
    avg(AU23_r) AS AU23_r,
    avg(AU25_r) AS AU25_r,
    avg(AU26_r) AS AU26_r,
    avg(AU45_r) AS AU45_r,
    avg(AU01_c) AS AU01_c,
    avg(AU02_c) AS AU02_c,
    avg(AU04_c) AS AU04_c,
    avg(AU05_c) AS AU05_c,
    avg(AU06_c) AS AU06_c,
    avg(AU07_c) AS AU07_c,
    avg(AU09_c) AS AU09_c,
    avg(AU10_c) AS AU10_c,
    avg(AU12_c) AS AU12_c,
    avg(AU14_c) AS AU14_c,
    avg(AU15_c) AS AU15_c,
    avg(AU17_c) AS AU17_c,
    avg(AU20_c) AS AU20_c,
    avg(AU23_c) AS AU23_c,
    avg(AU25_c) AS AU25_c,
    avg(AU26_c) AS AU26_c,
    avg(AU28_c) AS AU28_c,
    avg(AU45_c) AS AU45_c
FROM au_frames
GROUP BY feature_set, version, clip_id;

-- Per-clip sequence of 35-value AU vectors in frame order: the bi-LSTM's input.
CREATE OR REPLACE TEMP VIEW au_sequences AS
SELECT feature_set, version, clip_id, count(*) AS n_frames,
    list([AU01_r, AU02_r, AU04_r, AU05_r, AU06_r, AU07_r, AU09_r, AU10_r, AU12_r, AU14_r, AU15_r, AU17_r, AU20_r, AU23_r, AU25_r, AU26_r, AU45_r, AU01_c, AU02_c, AU04_c, AU05_c, AU06_c, AU07_c, AU09_c, AU10_c, AU12_c, AU14_c, AU15_c, AU17_c, AU20_c, AU23_c, AU25_c, AU26_c, AU28_c, AU45_c]::FLOAT[] ORDER BY frame) AS frames
FROM au_frames
GROUP BY feature_set, version, clip_id;
