"""SpaceOmicsBench v2.1, read from a benchmark checkout such as ../shared/data/spaceomicsbench.

``truth``: each task's rows, labels and folds; ``predictions``: a task's prediction file,
checked; ``scoring`` and ``output``: its metrics in the harness's result layout;
``directory``: what ``airlock score spaceomicsbench`` does with a directory of them.
``features`` (with ``source_tables`` and ``multiomics``) and ``importer``: tasks as bundles.
"""
