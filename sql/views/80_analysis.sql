-- name: test_predictions, confusions, accuracy_by
-- Everyday error-analysis views over the test predictions of complete runs.

-- Test predictions with the clip's metadata (actor, gender, intensity, statement ...): the
-- test rows of the predictions view (same columns but split) joined with the clips.
CREATE OR REPLACE TEMP VIEW test_predictions AS
SELECT
    p.* EXCLUDE (split),
    c.actor,
    c.gender,
    c.intensity,
    c.statement,
    c.repetition,
    c.modality,
    c.vocal_channel
FROM predictions AS p
JOIN clips AS c USING (clip_id)
WHERE p.split = 'test';

-- How often each true label is predicted as each label, per run (test clips of all folds).
CREATE OR REPLACE TEMP VIEW confusions AS
SELECT run, true_label, predicted_label, count(*) AS n
FROM test_predictions
GROUP BY run, true_label, predicted_label;

-- Accuracy (%) per run and value of a clip attribute, in long form:
-- attribute in (actor, gender, intensity, statement, emotion).
-- The test predictions are read once (materialized), not once per attribute.
CREATE OR REPLACE TEMP VIEW accuracy_by AS
WITH t AS MATERIALIZED (
    SELECT run, correct, actor, gender, intensity, statement, true_label FROM test_predictions
)
SELECT run, attribute, value, count(*) AS n, 100.0 * avg(correct::INTEGER) AS accuracy
FROM (
    SELECT run, correct, 'actor' AS attribute, actor::VARCHAR AS value FROM t
    UNION ALL
    SELECT run, correct, 'gender', gender FROM t
    UNION ALL
    SELECT run, correct, 'intensity', CASE intensity WHEN 1 THEN 'normal' ELSE 'strong' END
    FROM t
    UNION ALL
    SELECT run, correct, 'statement', statement::VARCHAR FROM t
    UNION ALL
    SELECT run, correct, 'emotion', true_label FROM t
)
GROUP BY run, attribute, value;
