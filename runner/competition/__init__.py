"""Hosting a competition: ``airlock serve`` (an HTTP API on one database), teams and their
tokens, quotas, phases, and the executor that evaluates submissions with the same sandbox
and fold road as ``airlock run``."""
