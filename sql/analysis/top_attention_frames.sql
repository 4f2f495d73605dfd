-- name: top_attention_frames
-- For bi-LSTM runs: the 3 most attended frames of every test clip, with their weights.
-- Run: mmemo sql -f top_attention_frames
SELECT run, clip_id, frame, round(weight, 4) AS weight, rank
FROM (
    SELECT run, clip_id, frame, weight,
        row_number() OVER (PARTITION BY run, clip_id ORDER BY weight DESC, frame) AS rank
    FROM attention
    WHERE split = 'test'
)
WHERE rank <= 3
ORDER BY run, clip_id, rank;
