-- name: 0001_core
-- Lake (DuckLake) tables of the store: append-only, every row tagged with the registry id
-- of the ingest / run that wrote it. Readers go through the views in sql/views, which show
-- only rows whose registry entry is complete.

CREATE TABLE lake.clips (
    ingest_id     INTEGER NOT NULL,   -- registry ingests.id
    dataset       VARCHAR NOT NULL,   -- 'ravdess'
    clip_id       VARCHAR NOT NULL,   -- file stem, e.g. 01-01-05-02-01-01-16
    version       INTEGER NOT NULL,   -- 1, 2, ... a changed file is a new version
    modality      TINYINT NOT NULL,   -- 1 full-AV, 2 video-only, 3 audio-only
    vocal_channel TINYINT NOT NULL,   -- 1 speech, 2 song
    emotion       TINYINT NOT NULL,   -- 1..8
    label         VARCHAR NOT NULL,   -- neutral ... surprised
    intensity     TINYINT NOT NULL,   -- 1 normal, 2 strong
    statement     TINYINT NOT NULL,
    repetition    TINYINT NOT NULL,
    actor         TINYINT NOT NULL,   -- 1..24
    gender        VARCHAR NOT NULL,   -- odd actor = male
    has_audio     BOOLEAN NOT NULL,
    has_video     BOOLEAN NOT NULL,
    path          VARCHAR,            -- file or archive path; NULL for a name-only ingest
    member        VARCHAR,            -- member name inside a zip archive
    container     VARCHAR,            -- wav, mp4 ...
    size_bytes    BIGINT,
    duration      DOUBLE,             -- seconds, from the header
    sample_rate   INTEGER,            -- of the audio stream
    channels      INTEGER,
    content_hash  VARCHAR             -- sha256 of the file's bytes
);

CREATE TABLE lake.posteriors (
    run_id   INTEGER NOT NULL,        -- registry runs.id
    fold     SMALLINT NOT NULL,
    split    VARCHAR NOT NULL,        -- train | test
    clip_id  VARCHAR NOT NULL,
    scores   DOUBLE[] NOT NULL        -- as produced, in the run's class order (runs.classes)
);
