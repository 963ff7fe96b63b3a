"""Judgement: turning measurements into verdicts, with the numbers behind them.

The Flagger-compatible threshold judge (:mod:`serinus.analysis.threshold`) is the default; the
statistical judges that compare the canary with the primary live beside it.
"""
