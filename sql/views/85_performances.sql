-- name: clip_performances, performance_files, corpus_gaps, performance_gaps, performance_predictions
-- The three files of one performance, linked. RAVDESS records a take once and publishes it as
-- up to three files: full-AV (modality 1), video-only (2) and audio-only (3). Their names differ
-- in the modality field only, so a performance is the rest of the name:
-- performance_id = 'VC-EM-IN-ST-RE-AC' (vocal channel, emotion, intensity, statement,
-- repetition, actor), e.g. clips 01-01-05-02-01-01-16 and 03-01-05-02-01-01-16 are the full-AV
-- and audio-only files of performance 01-05-02-01-01-16.

-- clip_performances: every clip with its performance_id: the corpus's own where its adapter
-- records one (CREMA-D: the take's file stem), else the RAVDESS name's fields, else (a
-- corpus that says nothing of takes: a manifest's) the clip itself.
CREATE OR REPLACE TEMP VIEW clip_performances AS
SELECT
    clip_id,
    coalesce(performance, printf('%02d-%02d-%02d-%02d-%02d-%02d', vocal_channel, emotion,
        intensity, statement, repetition, actor), clip_id) AS performance_id,
    modality,
    vocal_channel,
    emotion,
    label,
    intensity,
    statement,
    repetition,
    actor,
    gender,
    duration
FROM clips;

-- performance_files: one row per performance with the clip of each modality (NULL: not
-- ingested), the number of files and how far their durations (seconds) spread.
CREATE OR REPLACE TEMP VIEW performance_files AS
SELECT
    performance_id,
    any_value(actor) AS actor,
    any_value(vocal_channel) AS vocal_channel,
    any_value(emotion) AS emotion,
    any_value(intensity) AS intensity,
    any_value(statement) AS statement,
    any_value(repetition) AS repetition,
    max(clip_id) FILTER (WHERE modality = 1) AS full_av_clip,
    max(clip_id) FILTER (WHERE modality = 2) AS video_only_clip,
    max(clip_id) FILTER (WHERE modality = 3) AS audio_only_clip,
    count(*) AS files,
    min(duration) AS min_duration,
    max(duration) AS max_duration,
    max(duration) - min(duration) AS duration_spread
FROM clip_performances
GROUP BY performance_id;

-- corpus_gaps: files the corpus itself lacks (not an ingest's fault), with the reason.
-- Livingstone & Russo (2018): actor 18 recorded no song, so the corpus has 7,356 files.
CREATE OR REPLACE TEMP VIEW corpus_gaps AS
SELECT * FROM (VALUES
    (18, 2, 'actor 18 recorded no song (Livingstone & Russo, 2018)')
) AS g(actor, vocal_channel, reason);

-- performance_gaps: every file missing from what the store holds. A (vocal channel, modality)
-- pair is expected of every actor with clips once some actor has files of it; a missing pair
-- is one row with performance_id NULL; within a pair an actor has, each performance that
-- lacks the file is one row. known = the corpus' own gap (corpus_gaps), listed, not an error.
CREATE OR REPLACE TEMP VIEW performance_gaps AS
WITH pairs AS (
    SELECT DISTINCT vocal_channel, modality FROM clips
),
held AS (
    SELECT DISTINCT actor, vocal_channel, modality FROM clips
),
missing_pairs AS (
    SELECT a.actor, p.vocal_channel, p.modality
    FROM (SELECT DISTINCT actor FROM clips) AS a CROSS JOIN pairs AS p
    EXCEPT
    SELECT actor, vocal_channel, modality FROM held
),
missing_files AS (
    SELECT f.actor, f.vocal_channel, p.modality, f.performance_id
    FROM performance_files AS f
    JOIN pairs AS p USING (vocal_channel)
    JOIN held AS h ON h.actor = f.actor AND h.vocal_channel = f.vocal_channel
        AND h.modality = p.modality
    WHERE NOT EXISTS (
        SELECT 1 FROM clip_performances AS c
        WHERE c.performance_id = f.performance_id AND c.modality = p.modality
    )
),
gaps AS (
    SELECT actor, vocal_channel, modality, NULL::VARCHAR AS performance_id FROM missing_pairs
    UNION ALL
    SELECT actor, vocal_channel, modality, performance_id FROM missing_files
)
SELECT
    g.actor,
    g.vocal_channel,
    g.modality,
    g.performance_id,
    k.reason IS NOT NULL AS known,
    coalesce(k.reason, CASE WHEN g.performance_id IS NULL
        THEN 'no files of this channel and modality'
        ELSE 'this performance has no file of this modality' END) AS reason
FROM gaps AS g
LEFT JOIN corpus_gaps AS k USING (actor, vocal_channel);

-- performance_predictions: predictions with the performance and modality of each clip, so
-- that runs on different files of one take (audio-only vs full-AV vs video-only) join on
-- performance_id.
CREATE OR REPLACE TEMP VIEW performance_predictions AS
SELECT p.*, c.performance_id, c.modality
FROM predictions AS p
JOIN clip_performances AS c USING (clip_id);
