-- name: performance_not_in_train_and_test
-- Audit: returns offending rows (none = pass). Within a run's fold, no performance (one take:
-- actor, statement, emotion, intensity, repetition and vocal channel) is scored as a test clip
-- through one of its files (full-AV, video-only or audio-only) and as a training clip through
-- the same or another of its files: the model would have seen the take it is tested on.
SELECT
    p.run,
    p.fold,
    c.performance_id,
    string_agg(DISTINCT p.clip_id, ', ' ORDER BY p.clip_id) FILTER (WHERE p.split = 'test')
        AS test_clips,
    string_agg(DISTINCT p.clip_id, ', ' ORDER BY p.clip_id) FILTER (WHERE p.split <> 'test')
        AS train_clips
FROM posteriors AS p
JOIN clip_performances AS c USING (clip_id)
GROUP BY p.run, p.fold, c.performance_id
HAVING bool_or(p.split = 'test') AND bool_or(p.split <> 'test')
ORDER BY p.run, p.fold, c.performance_id;
