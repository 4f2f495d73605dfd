-- name: accuracy_by_gender
-- Test accuracy (%) of every complete run per gender, over all folds.
-- Run: mmemo sql -f accuracy_by_gender
SELECT run, value AS gender, n, round(accuracy, 2) AS accuracy
FROM accuracy_by
WHERE attribute = 'gender'
ORDER BY run, gender;
