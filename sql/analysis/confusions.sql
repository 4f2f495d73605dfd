-- name: top_confusions
-- The most frequent confusions (true label predicted as another) of every complete run,
-- with their share of all test clips of that true label.
-- Run: mmemo sql -f confusions
SELECT run, true_label, predicted_label, n, pct_of_true_label
FROM (
    SELECT run, true_label, predicted_label, n,
        round(100.0 * n / sum(n) OVER (PARTITION BY run, true_label), 2) AS pct_of_true_label
    FROM confusions
)
WHERE true_label <> predicted_label
ORDER BY run, n DESC
LIMIT 50;
