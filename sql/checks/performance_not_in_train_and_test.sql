-- name: performance_not_in_train_and_test
-- Audit: returns offending rows (none = pass). No performance (one take: actor, vocal
-- channel, emotion, intensity, statement and repetition) is a test clip of a run's fold
-- through one of its files (full-AV, video-only or audio-only) while the run, or a run it was
-- made from (a fusion's inputs, runs.inputs.run_ids), trained on the same or another of its
-- files in that fold: the model would have seen the take it is tested on. Within one run this
-- follows from actor_not_in_train_and_test; through a run's inputs it does not.
WITH complete AS (
    SELECT id, name, inputs FROM runs WHERE status = 'complete'
),
lineage AS (
    -- each complete run, with itself and with every run it was made from
    SELECT id AS run_id, name AS run, id AS source_id FROM complete
    UNION
    SELECT id, name,
        unnest(CAST(json_extract(CAST(inputs AS JSON), '$.run_ids') AS INTEGER[]))
    FROM complete
),
scored AS (
    SELECT l.run, p.fold, p.split, p.clip_id, l.source_id = l.run_id AS own
    FROM lineage AS l
    JOIN posteriors AS p ON p.run_id = l.source_id
)
SELECT
    s.run,
    s.fold,
    c.performance_id,
    string_agg(DISTINCT s.clip_id, ', ' ORDER BY s.clip_id) FILTER (WHERE s.own AND s.split = 'test')
        AS test_clips,
    string_agg(DISTINCT s.clip_id, ', ' ORDER BY s.clip_id) FILTER (WHERE s.split <> 'test')
        AS train_clips
FROM scored AS s
JOIN clip_performances AS c USING (clip_id)
GROUP BY s.run, s.fold, c.performance_id
HAVING bool_or(s.own AND s.split = 'test') AND bool_or(s.split <> 'test')
ORDER BY s.run, s.fold, c.performance_id;
