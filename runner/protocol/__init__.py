"""Protocol v1: JSON lines between the runner (stdin) and the submission (stdout)."""
