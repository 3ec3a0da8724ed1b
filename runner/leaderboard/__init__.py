"""Leaderboards: ``ranking`` decides who is where (pure), ``render`` writes md/csv/html."""
