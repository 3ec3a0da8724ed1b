"""Sealed evaluation on a pool of Celery workers: one job per (submission, bundle, fold).

``jobs`` is the message (pure), ``bundles`` brings bundles and sealed labels to a worker,
``tasks`` is the Celery side (app and task), ``execute`` runs a job exactly as `airlock run`
runs a fold, ``enqueue`` publishes a suite, ``status`` reports on the pool.
"""
