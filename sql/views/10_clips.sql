-- name: clips
-- The current version of every ingested clip (ingests that completed only). A RAVDESS clip
-- ingested before lake 0005 has no speaker name of its own: its actor's, two digits ('07').
CREATE OR REPLACE TEMP VIEW clips AS
SELECT
    c.* EXCLUDE (ingest_id, speaker),
    coalesce(c.speaker, printf('%02d', c.actor)) AS speaker,
    c.ingest_id
FROM lake.clips AS c
JOIN ingests AS i ON i.id = c.ingest_id AND i.status = 'complete'
QUALIFY row_number() OVER (PARTITION BY c.dataset, c.clip_id ORDER BY c.version DESC) = 1;
