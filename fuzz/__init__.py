"""Fuzzing harnesses for fieldstream (not part of the installed package).

``fuzz.targets`` holds the invariants, one function per layer that takes outside
bytes; ``python -m fuzz.run`` drives them with atheris (coverage-guided, libFuzzer),
and ``tests/test_fuzz.py`` with hypothesis and the committed corpus.  See
docs/reliability.md for the figures and how to reproduce them.
"""
