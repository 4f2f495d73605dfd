-- name: corpus_matrix
-- Cross-corpus results: per run, the corpora each fold trained on and the corpus it tested,
-- with the test clips, accuracy and UAR (unweighted average recall over the classes the
-- test clips have), in %. A fold whose test clips span corpora gives a row per corpus.
-- Parameters: $runs  -- list of run names
-- Run: mmemo sql -f corpus_matrix --param runs=loco
WITH trained AS (
    SELECT p.run, p.fold, string_agg(DISTINCT c.dataset, '+' ORDER BY c.dataset) AS trained_on
    FROM predictions AS p
    JOIN clips AS c USING (clip_id)
    WHERE p.split = 'train' AND list_contains($runs, p.run)
    GROUP BY p.run, p.fold
),
per_class AS (
    SELECT
        p.run,
        coalesce(t.trained_on, '?') AS trained_on,
        c.dataset AS tested_on,
        p.true_emotion,
        count(*) AS clips,
        sum(p.correct::INTEGER) AS hits
    FROM predictions AS p
    JOIN clips AS c USING (clip_id)
    LEFT JOIN trained AS t USING (run, fold)
    WHERE p.split = 'test' AND list_contains($runs, p.run)
    GROUP BY ALL
)
SELECT
    run,
    trained_on,
    tested_on,
    sum(clips)::INTEGER AS clips,
    100.0 * sum(hits) / sum(clips) AS accuracy,
    100.0 * avg(hits / clips) AS uar
FROM per_class
GROUP BY run, trained_on, tested_on
ORDER BY list_position($runs, run), trained_on, tested_on;
