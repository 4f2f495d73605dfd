-- name: clips
-- The current version of every ingested clip (ingests that completed only).
CREATE OR REPLACE TEMP VIEW clips AS
SELECT c.* EXCLUDE (ingest_id), c.ingest_id
FROM lake.clips AS c
JOIN ingests AS i ON i.id = c.ingest_id AND i.status = 'complete'
QUALIFY row_number() OVER (PARTITION BY c.dataset, c.clip_id ORDER BY c.version DESC) = 1;
