-- name: performance_durations_agree
-- Integrity: returns offending rows (none = pass). The files of one performance are one take
-- recorded together, so their durations agree: a spread above 0.5 s (many video frames, far
-- beyond container rounding) means a file of another take or a damaged file. Clips without a
-- duration (name-only ingests) are not compared.
WITH settings AS (
    SELECT 0.5 AS tolerance
)
SELECT
    f.performance_id,
    f.actor,
    f.full_av_clip,
    f.video_only_clip,
    f.audio_only_clip,
    f.min_duration,
    f.max_duration,
    f.duration_spread
FROM performance_files AS f, settings AS s
WHERE f.files > 1 AND f.duration_spread > s.tolerance
ORDER BY f.performance_id;
