-- name: 0005_corpora
-- Corpora beyond RAVDESS (issue 25). A clip's fields that RAVDESS names in its file names
-- (vocal channel, intensity, statement, repetition) are NULL where a corpus has no such field,
-- and so is gender where a corpus does not say it; actor (the speaker number that folds
-- group by) widens to INTEGER (CREMA-D's actors are 1001-1091). New columns:
--   speaker      the corpus's own name of the speaker ('1001', 'Ses01F'); NULL on RAVDESS
--                clips ingested before this revision (the clips view shows '01'..'24')
--   performance  the take a clip is one file of (CREMA-D's WAV and FLV of 1001_DFA_ANG_XX);
--                NULL where the view derives it from the name fields (RAVDESS)
--   age          the speaker's age in years where the corpus records it
ALTER TABLE lake.clips ALTER COLUMN actor SET DATA TYPE INTEGER;
ALTER TABLE lake.clips ALTER COLUMN vocal_channel DROP NOT NULL;
ALTER TABLE lake.clips ALTER COLUMN intensity DROP NOT NULL;
ALTER TABLE lake.clips ALTER COLUMN statement DROP NOT NULL;
ALTER TABLE lake.clips ALTER COLUMN repetition DROP NOT NULL;
ALTER TABLE lake.clips ALTER COLUMN gender DROP NOT NULL;
ALTER TABLE lake.clips ADD COLUMN speaker VARCHAR;
ALTER TABLE lake.clips ADD COLUMN performance VARCHAR;
ALTER TABLE lake.clips ADD COLUMN age SMALLINT;

-- A corpus's perceived labels: what raters chose for one performance in one presentation
-- (CREMA-D's crowd votes: voice alone, face alone, or both), beside the acted label of clips.
CREATE TABLE lake.clip_ratings (
    ingest_id   INTEGER NOT NULL,   -- registry ingests.id
    dataset     VARCHAR NOT NULL,
    performance VARCHAR NOT NULL,
    modality    TINYINT NOT NULL,   -- what raters were shown: 1 audio+video, 2 video, 3 audio
    emotion     TINYINT,            -- the perceived class (the dataset's code); NULL on a tie
    label       VARCHAR,            -- its label; NULL on a tie
    votes       VARCHAR NOT NULL,   -- the corpus's own verdict, e.g. 'A' or 'A:D' (a tie)
    responses   INTEGER,            -- raters who answered
    agreement   DOUBLE              -- share of them who chose the winning class
);
