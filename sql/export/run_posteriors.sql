-- name: run_posteriors
-- Everything about one run's scores, for analysis elsewhere: fold, split, clip metadata,
-- true and predicted emotion, and the scores with their class order and kind.
-- Parameters: $run  -- the run name
-- Run: mmemo sql -f run_posteriors --param run=audio --format parquet --out audio.parquet
SELECT p.run, p.fold, p.split, p.clip_id, c.actor, c.gender, c.modality, c.vocal_channel,
    c.intensity, c.statement, c.repetition, pr.true_emotion, pr.true_label,
    pr.predicted_emotion, pr.predicted_label, pr.confidence, pr.correct,
    p.kind, p.classes, p.scores
FROM posteriors AS p
JOIN clips AS c USING (clip_id)
JOIN predictions AS pr USING (run_id, fold, split, clip_id)
WHERE p.run = $run
ORDER BY p.fold, p.split, p.clip_id;
