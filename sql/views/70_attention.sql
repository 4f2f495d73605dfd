-- name: attention
-- Attention weights of complete runs, with the run's name.
CREATE OR REPLACE TEMP VIEW attention AS
SELECT r.name AS run, a.run_id, a.fold, a.split, a.clip_id, a.frame, a.weight
FROM lake.attention AS a
JOIN runs AS r ON r.id = a.run_id AND r.status = 'complete';
