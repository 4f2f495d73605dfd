-- name: clips_in_one_test_fold
-- Audit: returns offending rows (none = pass). Every clip of a scheme's folds is a test clip
-- of exactly one fold.
SELECT scheme, clip_id, count(*) AS test_folds
FROM folds
GROUP BY scheme, clip_id
HAVING count(*) <> 1;
