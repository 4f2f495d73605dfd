-- name: always_wrong
-- Clips that every selected run gets wrong (test predictions). Edit the pattern to choose
-- the runs (SQL LIKE on the run name; '%' = every complete run).
-- Run: mmemo sql -f always_wrong
WITH chosen AS (
    SELECT name FROM runs WHERE status = 'complete' AND name LIKE '%'
)
SELECT clip_id, any_value(true_label) AS true_label, count(*) AS runs_wrong,
    list(run || ':' || predicted_label ORDER BY run) AS predictions
FROM test_predictions
WHERE run IN (SELECT name FROM chosen)
GROUP BY clip_id
HAVING bool_and(NOT correct) AND count(DISTINCT run) = (SELECT count(*) FROM chosen)
ORDER BY clip_id;
