-- name: accuracy_by_actor
-- Test accuracy (%) of every complete run per actor, over all folds.
-- Run: mmemo sql -f accuracy_by_actor
SELECT run, value AS actor, n, round(accuracy, 2) AS accuracy
FROM accuracy_by
WHERE attribute = 'actor'
ORDER BY run, actor;
