-- name: posteriors
-- Scores of complete runs, with the run's name, class order (emotion codes) and score kind.
CREATE OR REPLACE TEMP VIEW posteriors AS
SELECT
    r.name AS run,
    p.run_id,
    p.fold,
    p.split,
    p.clip_id,
    p.scores,
    CAST(CAST(r.classes AS JSON) AS INTEGER[]) AS classes,
    r.score_kind AS kind
FROM lake.posteriors AS p
JOIN runs AS r ON r.id = p.run_id AND r.status = 'complete';
