-- name: performance_files_complete
-- Integrity: returns offending rows (none = pass). Every performance has a file of each
-- modality the store holds for its vocal channel, and every actor has each (vocal channel,
-- modality) some actor has (see the view performance_gaps). The corpus' own gaps (such as
-- actor 18's missing song files, view corpus_gaps) are listed by performance_gaps, not here.
SELECT actor, vocal_channel, modality, performance_id, reason
FROM performance_gaps
WHERE NOT known
ORDER BY actor, vocal_channel, modality, performance_id NULLS FIRST;
