-- name: posteriors
-- Scores of complete runs, with the run's name, class order (emotion codes), score kind and
-- the dataset whose classes the codes are.
-- The class order is parsed from the registry's JSON once per run, not once per row.
CREATE OR REPLACE TEMP VIEW posteriors AS
SELECT
    r.name AS run,
    p.run_id,
    p.fold,
    p.split,
    p.clip_id,
    p.scores,
    r.classes,
    r.kind,
    r.dataset
FROM lake.posteriors AS p
JOIN (
    SELECT
        id,
        name,
        CAST(CAST(classes AS JSON) AS INTEGER[]) AS classes,
        score_kind AS kind,
        dataset
    FROM runs
    WHERE status = 'complete'
) AS r ON r.id = p.run_id;
