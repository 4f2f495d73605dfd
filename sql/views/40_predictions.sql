-- name: scored, predictions
-- scored: every posterior row with its predicted class and confidence, before any join.
-- predicted = the class of the highest score (first one on ties), confidence = that score
-- (in the run's own score kind: a probability, a logit or a decision value). The label comes
-- from emotion_label(code, dataset := the run's), the session's class vocabulary
-- (mmemo.store.vocabulary).
CREATE OR REPLACE TEMP VIEW scored AS
SELECT
    run,
    run_id,
    fold,
    split,
    clip_id,
    classes[list_position(scores, list_max(scores))] AS predicted_emotion,
    emotion_label(predicted_emotion, dataset := dataset) AS predicted_label,
    list_max(scores) AS confidence
FROM posteriors;

-- One row per run, fold, split and clip: true and predicted emotion, confidence, correct.
-- The prediction is computed before the join with clips, so that the score lists are not
-- carried through it.
CREATE OR REPLACE TEMP VIEW predictions AS
SELECT
    p.run,
    p.run_id,
    p.fold,
    p.split,
    p.clip_id,
    c.emotion AS true_emotion,
    c.label AS true_label,
    p.predicted_emotion,
    p.predicted_label,
    p.confidence,
    p.predicted_emotion = c.emotion AS correct
FROM scored AS p
JOIN clips AS c USING (clip_id);
