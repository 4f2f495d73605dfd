-- name: predictions
-- One row per run, fold, split and clip: true and predicted emotion, confidence, correct.
-- predicted = the class of the highest score (first one on ties), confidence = that score
-- (in the run's own score kind: a probability, a logit or a decision value).
CREATE OR REPLACE TEMP VIEW predictions AS
SELECT
    p.run,
    p.run_id,
    p.fold,
    p.split,
    p.clip_id,
    c.emotion AS true_emotion,
    c.label AS true_label,
    p.classes[list_position(p.scores, list_max(p.scores))] AS predicted_emotion,
    ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'][
        p.classes[list_position(p.scores, list_max(p.scores))]
    ] AS predicted_label,
    list_max(p.scores) AS confidence,
    p.classes[list_position(p.scores, list_max(p.scores))] = c.emotion AS correct
FROM posteriors AS p
JOIN clips AS c USING (clip_id);
