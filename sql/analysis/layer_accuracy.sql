-- name: layer_accuracy
-- Layer probing: test accuracy (%) of every complete run trained on a feature set named
-- ENCODER/layer=L (`embed --layers`, `train static --features 'NAME/layer=*'`), mean over
-- folds, with its encoder and layer; layer_order puts conv (-1) before layers 1, 2, ...
-- `mmemo plot layers` draws these points (with the report's 95% CI).
-- Run: mmemo sql -f layer_accuracy
WITH layered AS (
    SELECT
        name AS run,
        regexp_extract(features, '^(.+)/layer=([^/]+)$', 1) AS encoder,
        regexp_extract(features, '^(.+)/layer=([^/]+)$', 2) AS layer,
        features
    FROM (
        SELECT name, json_extract_string(CAST(inputs AS JSON), '$.features.name') AS features
        FROM runs
        WHERE status = 'complete'
    )
    WHERE regexp_matches(features, '^(.+)/layer=([^/]+)$')
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
