-- name: posteriors_complete
-- Audit: returns offending rows (none = pass). Every complete training run has, in each fold
-- of its scheme that tests any of its clips, one score for every clip of its selection: a
-- test score for the clips of that fold's test actors and a training score for all others.
-- The selection is the clips the run scored, as many as the run's n_clips. Out-of-fold scores
-- of training clips (split 'oof', from --inner) are extra and not checked here. Clips of the
-- actors a scheme only trains on (fold -1, cross:A:B) have a training score in every fold.
-- One row per problem: run, fold, clip_id (NULL for the run as a whole) and what is wrong.
WITH trained AS (
    SELECT id AS run_id, name AS run, scheme, n_clips
    FROM runs
    WHERE kind = 'train' AND status = 'complete'
),
scored AS (
    SELECT run_id, fold, clip_id, count(*) AS n, min(split) AS split
    FROM posteriors
    WHERE run_id IN (SELECT run_id FROM trained) AND split <> 'oof'
    GROUP BY run_id, fold, clip_id
),
selection AS (
    -- each clip the run scored, with the fold that tests it under the run's scheme
    SELECT s.run_id, s.clip_id, any_value(f.fold) AS test_fold
    FROM (SELECT DISTINCT run_id, clip_id FROM scored) AS s
    JOIN trained AS t USING (run_id)
    LEFT JOIN folds AS f ON f.scheme = t.scheme AND f.clip_id = s.clip_id
    GROUP BY s.run_id, s.clip_id
),
expected AS (
    SELECT s.run_id, fs.fold, s.clip_id,
        CASE WHEN s.test_fold = fs.fold THEN 'test' ELSE 'train' END AS split
    FROM selection AS s
    JOIN (SELECT DISTINCT run_id, test_fold AS fold FROM selection) AS fs USING (run_id)
    WHERE fs.fold >= 0  -- fold -1 holds the actors a scheme trains on only (cross:A:B)
),
problems AS (
    SELECT coalesce(e.run_id, s.run_id) AS run_id,
        coalesce(e.fold, s.fold) AS fold,
        coalesce(e.clip_id, s.clip_id) AS clip_id,
        CASE
            WHEN s.clip_id IS NULL THEN 'no ' || e.split || ' score'
            WHEN e.clip_id IS NULL THEN 'scored in a fold that tests none of the run''s clips'
            WHEN s.n > 1 THEN 'scored ' || s.n || ' times'
            WHEN s.split <> e.split AND s.split = 'test'
                THEN 'test score, but its actor is not tested in this fold'
            WHEN s.split <> e.split THEN s.split || ' score, but its actor is tested in this fold'
        END AS problem
    FROM expected AS e
    FULL JOIN scored AS s USING (run_id, fold, clip_id)
    UNION ALL
    SELECT run_id, NULL, clip_id, 'in no test fold of the run''s scheme'
    FROM selection
    WHERE test_fold IS NULL
    UNION ALL
    SELECT t.run_id, NULL, NULL,
        'scores ' || count(s.clip_id) || ' clip(s), the run has ' || any_value(t.n_clips)
    FROM trained AS t
    LEFT JOIN selection AS s USING (run_id)
    GROUP BY t.run_id
    HAVING count(s.clip_id) <> any_value(t.n_clips)
)
SELECT t.run, p.fold, p.clip_id, p.problem
FROM problems AS p
JOIN trained AS t USING (run_id)
WHERE p.problem IS NOT NULL
ORDER BY t.run, p.fold NULLS FIRST, p.clip_id NULLS FIRST;
