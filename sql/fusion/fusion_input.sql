-- name: fusion_input
-- The input matrix of late fusion: for every fold, split and clip, the scores of the chosen
-- runs concatenated in the order the runs are given, as they are stored (no soft-max).
-- Parameters: $runs  -- list of run names, in order, e.g. ['audio', 'aus-mlp']
-- Run: mmemo sql -f fusion_input --param runs=audio,aus-mlp
-- Only clips that every chosen run scored in that fold and split are returned. The emotion is
-- the clip's class in the runs' classes (a label map's, for runs trained through one).
SELECT
    p.fold,
    p.split,
    p.clip_id,
    coalesce(m.target, c.emotion) AS emotion,
    flatten(list(p.scores ORDER BY list_position($runs, p.run))) AS features
FROM posteriors AS p
JOIN clips AS c USING (clip_id)
LEFT JOIN label_codes AS m
    ON m.map = p.dataset AND m.dataset = c.dataset AND m.code = c.emotion
WHERE list_contains($runs, p.run)
GROUP BY p.fold, p.split, p.clip_id, coalesce(m.target, c.emotion)
HAVING count(*) = len($runs)
ORDER BY p.fold, p.split, p.clip_id;
