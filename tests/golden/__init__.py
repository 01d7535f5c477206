"""Golden-output regression guard: recorded outputs of fixed-seed scenarios
(``scenarios.py``), written by ``record.py`` and checked by
``tests/test_golden.py``."""
