-- name: accuracy_by_intensity
-- Test accuracy (%) of every complete run per intensity, over all folds.
-- Run: mmemo sql -f accuracy_by_intensity
SELECT run, value AS intensity, n, round(accuracy, 2) AS accuracy
FROM accuracy_by
WHERE attribute = 'intensity'
ORDER BY run, intensity;
