-- name: accuracy_by_statement
-- Test accuracy (%) of every complete run per statement, over all folds.
-- Run: mmemo sql -f accuracy_by_statement
SELECT run, value AS statement, n, round(accuracy, 2) AS accuracy
FROM accuracy_by
WHERE attribute = 'statement'
ORDER BY run, statement;
