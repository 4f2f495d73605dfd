-- name: layer_accuracy
-- Layer probing: test accuracy (%) of every complete run trained on one layer of a family of
-- feature sets (ENCODER/layer=L, made by `embed --layers` or `import features --layer`;
-- `train static --features 'NAME/layer=*'` trains them), mean over folds, with the family
-- (encoder) and layer its feature set records; layer_order puts conv (-1) before layers
-- 1, 2, ... `mmemo plot layers` draws these points (with the report's 95% CI).
-- Run: mmemo sql -f layer_accuracy
WITH layered AS (
    SELECT
        r.name AS run,
        fs.family AS encoder,
        fs.layer,
        fs.name AS features
    FROM runs AS r
    JOIN feature_sets AS fs
        ON fs.id = TRY_CAST(
            json_extract_string(CAST(r.inputs AS JSON), '$.features.id') AS INTEGER
        )
    WHERE r.status = 'complete' AND fs.family IS NOT NULL AND fs.layer IS NOT NULL
)
SELECT
    l.run,
    l.encoder,
    l.layer,
    CASE WHEN l.layer = 'conv' THEN -1 ELSE TRY_CAST(l.layer AS INTEGER) END AS layer_order,
    l.features,
    count(*) AS folds,
    round(avg(f.accuracy), 2) AS accuracy
FROM layered AS l
JOIN fold_accuracy AS f ON f.run = l.run
GROUP BY ALL
ORDER BY l.encoder, layer_order NULLS LAST, l.layer, l.run;
