"""Leaderboards: ``ranking`` decides who is where (pure), ``uncertainty`` how sure that order
is (rank intervals, paired tests, groups; ``board_stats`` attaches them to a board),
``ladder`` what a probe-resistant public board shows, ``render`` writes md/csv/html,
``export`` gives every figure of a board as JSON (``airlock leaderboard --json``, the
competition API), ``robustness`` the probe column."""
