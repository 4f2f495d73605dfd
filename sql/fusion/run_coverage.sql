-- name: run_coverage
-- What each chosen run scored: clips per fold and split, and a fingerprint of which clips.
-- Parameters: $runs  -- list of run names
-- Run: mmemo sql -f run_coverage --param runs=audio,aus-mlp
SELECT run, fold, split, count(*) AS n, bit_xor(hash(clip_id)) AS clips_hash
FROM posteriors
WHERE list_contains($runs, run)
GROUP BY run, fold, split
ORDER BY run, fold, split;
