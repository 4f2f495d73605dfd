-- name: complementarity_by_actor
-- How two runs complement each other per actor, on the test clips they share (one fold
-- scheme, same fold): clips both get right, only A, only B, neither; each run's accuracy and
-- the oracle of fusing them (right if either run is), in %; Cohen's kappa between their
-- predicted labels and Yule's Q on correctness (NULL where undefined: see the view
-- complementarity). The last row ('all') is every shared clip. `mmemo report A B
-- --complementarity --by actor` prints the same table.
-- Parameters: $run_a  -- the first run's name
-- Parameters: $run_b  -- the second run's name
-- Run: mmemo sql -f complementarity_by_actor --param run_a=audio --param run_b=aus-mlp
SELECT
    value AS actor,
    n,
    both_right,
    only_a,
    only_b,
    neither,
    round(accuracy_a, 2) AS accuracy_a,
    round(accuracy_b, 2) AS accuracy_b,
    round(oracle, 2) AS oracle,
    round(kappa, 4) AS kappa,
    round(yule_q, 4) AS yule_q
FROM complementarity
WHERE run_a = $run_a AND run_b = $run_b AND attribute IN ('actor', 'all')
ORDER BY attribute = 'all', value_order;
