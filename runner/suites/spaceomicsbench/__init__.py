"""SpaceOmicsBench v2.1: ground truth per task (``truth``) and harness prediction files
(``predictions``), read from a benchmark checkout such as ../shared/data/spaceomicsbench."""
