"""The hosted benchmarks' own file formats: reading their task folders and prediction files,
and importing their tasks as bundles.

``genelab`` checks SpaceBio-Bench submissions and ``genelab_result`` scores them;
``spaceomicsbench`` reads harness prediction directories; both parse participants' JSON
through ``prediction_json``, and turn it into arrays for the pure functions in
``runner.scoring``. ``genelab_bundles`` and ``spaceomicsbench.importer`` write bundles
through ``bundle_import``; ``report`` compares container results with published baselines.
"""
