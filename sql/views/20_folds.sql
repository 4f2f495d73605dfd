-- name: folds
-- Test fold of every clip under every fold scheme used so far (one row per scheme and clip).
CREATE OR REPLACE TEMP VIEW folds AS
SELECT f.scheme, f.fold, c.actor, c.clip_id
FROM fold_assignments AS f
JOIN clips AS c ON c.actor = f.actor;
