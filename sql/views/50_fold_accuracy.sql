-- name: fold_accuracy
-- Test accuracy (%) of every fold of every complete run.
CREATE OR REPLACE TEMP VIEW fold_accuracy AS
SELECT run, fold, count(*) AS n, 100.0 * avg(correct::INTEGER) AS accuracy
FROM predictions
WHERE split = 'test'
GROUP BY run, fold;
