-- name: fold_accuracy_with_mean
-- Test accuracy (%) of every fold of every complete run, with the mean over folds.
-- Run: mmemo sql -f fold_accuracy
SELECT run, fold, n, round(accuracy, 2) AS accuracy,
    round(avg(accuracy) OVER (PARTITION BY run), 2) AS mean_over_folds
FROM fold_accuracy
ORDER BY run, fold;
