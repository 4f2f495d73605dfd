-- name: clip_metadata
-- Every clip's metadata (RAVDESS factors, label, media file): the columns
-- `mmemo export features NAME --with-clips` adds beside each clip's vector.
-- Run: mmemo sql -f clip_metadata --format csv --out clips.csv
SELECT * EXCLUDE (ingest_id)
FROM clips
ORDER BY clip_id
