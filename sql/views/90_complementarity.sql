-- name: clip_correctness, run_pair_clips, complementarity
-- Which run knows what: per test clip which runs are right, and for every two runs of one fold
-- scheme the 2x2 table of their correctness on the clips they share, with the oracle of fusing
-- them and their error correlation.

-- One row per complete run and test clip: the run's fold scheme, the clip's test fold, its
-- emotion (label and code) and actor, the run's predicted label and whether it is right.
CREATE OR REPLACE TEMP VIEW clip_correctness AS
SELECT
    t.run,
    t.run_id,
    r.scheme,
    t.fold,
    t.clip_id,
    t.true_label AS emotion,
    t.true_emotion AS emotion_code,
    t.actor,
    t.predicted_label AS predicted,
    t.correct
FROM test_predictions AS t
JOIN runs AS r ON r.id = t.run_id;

-- Every ordered pair of runs (A, B) on every test clip both scored under one scheme in the same
-- fold, with both predictions and correctness (A = B included: a run paired with itself).
CREATE OR REPLACE TEMP VIEW run_pair_clips AS
SELECT
    a.run AS run_a,
    b.run AS run_b,
    scheme,
    fold,
    clip_id,
    a.emotion,
    a.emotion_code,
    a.actor,
    a.predicted AS predicted_a,
    b.predicted AS predicted_b,
    a.correct AS correct_a,
    b.correct AS correct_b
FROM clip_correctness AS a
JOIN clip_correctness AS b USING (scheme, fold, clip_id);

-- Complementarity of two runs per emotion, per actor and over all their shared clips
-- (attribute 'emotion', 'actor' or 'all'; value_order sorts the values: emotion code, actor):
-- clips both runs get right, only A, only B, neither; each run's accuracy and the oracle of
-- fusing them (a clip is right if either run is), in %; Cohen's kappa between the predicted
-- labels, (n*agree - S) / (n^2 - S) with S the sum over labels of A's count times B's count
-- (sklearn.metrics.cohen_kappa_score), NULL when n^2 = S (both predict one same label
-- throughout); Yule's Q on correctness, (both*neither - only_a*only_b) /
-- (both*neither + only_a*only_b), NULL when that denominator is 0. Q > 0: the runs tend to be
-- right and wrong on the same clips; Q < 0: each tends to be right where the other is wrong.
-- One pass: the three groupings are grouping sets of one aggregate, and the label counts
-- are histograms, so that a filter on run_a and run_b reaches clip_correctness.
CREATE OR REPLACE TEMP VIEW complementarity AS
SELECT
    run_a,
    run_b,
    scheme,
    attribute,
    value,
    value_order,
    n,
    both_right,
    only_a,
    only_b,
    neither,
    100.0 * (both_right + only_a) / n AS accuracy_a,
    100.0 * (both_right + only_b) / n AS accuracy_b,
    100.0 * (n - neither) / n AS oracle,
    (n * agree - chance)::DOUBLE / nullif(n * n - chance, 0) AS kappa,
    (both_right * neither - only_a * only_b)::DOUBLE
        / nullif(both_right * neither + only_a * only_b, 0) AS yule_q
FROM (
    SELECT
        *,
        list_sum(
            list_transform(map_entries(labels_a), e -> e.value * coalesce(labels_b[e.key], 0))
        )::BIGINT AS chance
    FROM (
        SELECT
            run_a,
            run_b,
            scheme,
            CASE
                WHEN grouping(emotion_code) = 0 THEN 'emotion'
                WHEN grouping(actor) = 0 THEN 'actor'
                ELSE 'all'
            END AS attribute,
            CASE attribute
                WHEN 'emotion' THEN any_value(emotion)
                WHEN 'actor' THEN actor::VARCHAR
                ELSE 'all'
            END AS value,
            coalesce(emotion_code, actor, 0) AS value_order,
            count(*) AS n,
            count_if(correct_a AND correct_b)::BIGINT AS both_right,
            count_if(correct_a AND NOT correct_b)::BIGINT AS only_a,
            count_if(NOT correct_a AND correct_b)::BIGINT AS only_b,
            count_if(NOT correct_a AND NOT correct_b)::BIGINT AS neither,
            count_if(predicted_a = predicted_b)::BIGINT AS agree,
            histogram(predicted_a) AS labels_a,
            histogram(predicted_b) AS labels_b
        FROM run_pair_clips
        GROUP BY GROUPING SETS (
            (run_a, run_b, scheme, emotion_code),
            (run_a, run_b, scheme, actor),
            (run_a, run_b, scheme)
        )
    )
);
