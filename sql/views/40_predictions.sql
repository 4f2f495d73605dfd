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
    list_max(scores) AS confidence,
    dataset
FROM posteriors;

-- One row per run, fold, split and clip: true and predicted emotion, confidence, correct.
-- The prediction is computed before the join with clips, so that the score lists are not
-- carried through it. The true class is the clip's own, or, for a run trained through a label
-- map (its dataset 'labels:NAME'), the class the map makes of it (label_codes; NULL where
-- the map does not take the clip's label).
CREATE OR REPLACE TEMP VIEW predictions AS
SELECT
    p.run,
    p.run_id,
    p.fold,
    p.split,
    p.clip_id,
    CASE WHEN starts_with(coalesce(p.dataset, ''), 'labels:') THEN m.target
        ELSE c.emotion END AS true_emotion,
    CASE WHEN starts_with(coalesce(p.dataset, ''), 'labels:')
        THEN emotion_label(m.target, dataset := p.dataset) ELSE c.label END AS true_label,
    p.predicted_emotion,
    p.predicted_label,
    p.confidence,
    p.predicted_emotion = true_emotion AS correct
FROM scored AS p
JOIN clips AS c USING (clip_id)
LEFT JOIN label_codes AS m
    ON m.map = p.dataset AND m.dataset = c.dataset AND m.code = c.emotion;
