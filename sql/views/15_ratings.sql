-- name: clip_ratings, perceived_labels
-- What raters perceived, beside what was acted (corpora that publish votes: CREMA-D).

-- clip_ratings: the ratings of completed ingests; a performance rated again in a later
-- ingest shows that ingest's verdict.
CREATE OR REPLACE TEMP VIEW clip_ratings AS
SELECT r.* EXCLUDE (ingest_id), r.ingest_id
FROM lake.clip_ratings AS r
JOIN ingests AS i ON i.id = r.ingest_id AND i.status = 'complete'
QUALIFY row_number() OVER (
    PARTITION BY r.dataset, r.performance, r.modality ORDER BY r.ingest_id DESC
) = 1;

-- perceived_labels: each clip's acted class and the class raters perceived when shown what
-- the clip holds (an audio-only file: the voice alone; a full-AV file: voice and face).
-- perceived is NULL where the raters' vote was tied.
CREATE OR REPLACE TEMP VIEW perceived_labels AS
SELECT
    c.dataset,
    c.clip_id,
    c.modality,
    c.emotion AS acted,
    c.label AS acted_label,
    r.emotion AS perceived,
    r.label AS perceived_label,
    r.votes,
    r.responses,
    r.agreement
FROM clips AS c
JOIN clip_ratings AS r
    ON r.dataset = c.dataset AND r.performance = c.performance AND r.modality = c.modality;
