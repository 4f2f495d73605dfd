-- name: runs_right_per_clip
-- Per test clip, which of the chosen runs get it right and which get it wrong (runs in the
-- order given; one row per fold scheme and clip), hardest clips first.
-- Parameters: $runs  -- list of run names, e.g. ['audio', 'aus-mlp']
-- Run: mmemo sql -f runs_right_per_clip --param runs=audio,aus-mlp
SELECT
    scheme,
    fold,
    clip_id,
    emotion,
    actor,
    count_if(correct)::BIGINT AS n_right,
    count(*) AS n_runs,
    coalesce(list(run ORDER BY list_position($runs, run)) FILTER (WHERE correct), [])
        AS right_runs,
    coalesce(list(run ORDER BY list_position($runs, run)) FILTER (WHERE NOT correct), [])
        AS wrong_runs
FROM clip_correctness
WHERE list_contains($runs, run)
GROUP BY scheme, fold, clip_id, emotion, actor
ORDER BY scheme, n_right, fold, clip_id;
