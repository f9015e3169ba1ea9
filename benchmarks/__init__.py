"""fieldstream's benchmark harness (not installed with the package).

Run ``python -m benchmarks`` from the repository root; see ``runner.py`` for
the options and README.md ("Benchmarks") for what is measured and how.

Layout: ``generate.py`` makes the synthetic documents, ``corpus.py`` replays the
recorded provider streams with their own token boundaries, ``cases.py`` is the
one registry of cases, ``competitors/`` holds one module per peer with the same
small interface, ``runner.py`` runs each competitor in its own process and
``report.py`` writes the JSON, the Markdown table and the plot.
"""
