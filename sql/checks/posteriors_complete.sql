-- name: posteriors_complete
-- Audit: returns offending rows (none = pass). Every complete training run has, in each fold,
-- a score for every clip of its selection (train + test) and test scores for that fold's
-- actors only, each clip once.
WITH per_fold AS (
    SELECT run_id, run, fold, count(*) AS n, count(DISTINCT clip_id) AS distinct_clips
    FROM posteriors
    GROUP BY run_id, run, fold
)
SELECT f.run, f.fold, f.n, f.distinct_clips, r.n_clips AS clips_in_run
FROM per_fold AS f
JOIN runs AS r ON r.id = f.run_id
WHERE r.kind = 'train' AND (f.n <> f.distinct_clips OR f.n <> r.n_clips);
