-- name: actor_not_in_train_and_test
-- Audit: returns offending rows (none = pass). Within a run's fold, no actor has clips in both
-- the training and the test part (subject-wise cross-validation). Out-of-fold scores ('oof')
-- are scores of training clips.
SELECT p.run, p.fold, c.actor
FROM posteriors AS p
JOIN clips AS c USING (clip_id)
GROUP BY p.run, p.fold, c.actor
HAVING count(DISTINCT p.split = 'test') > 1;
