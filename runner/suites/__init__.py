"""The hosted benchmarks' own file formats: reading their task folders and prediction files.

``genelab`` (SpaceBio-Bench submissions) and ``spaceomicsbench`` (harness prediction
directories) turn those files into arrays for the pure functions in ``runner.scoring``.
"""
