-- name: clip_counts
-- How many clips the store holds per dataset, modality, vocal channel and emotion
-- (the summary `mmemo ingest` prints).
-- Run: mmemo sql -f clip_counts
SELECT
    dataset,
    CASE modality WHEN 1 THEN 'full-AV' WHEN 2 THEN 'video-only' ELSE 'audio-only' END
        AS modality,
    CASE vocal_channel WHEN 1 THEN 'speech' ELSE 'song' END AS channel,
    label AS emotion,
    count(*) AS clips
FROM clips
GROUP BY ALL
ORDER BY ALL;
