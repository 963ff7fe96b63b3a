"""Operating serinus by hand: what the CLI, the dashboard and the reports share.

``view`` turns a Canary, its Events and its run history into what a person reads (phase, weight,
step n of N, time in step and to go, metrics against their bounds, hooks, Events); ``progress``
computes the steps and the expected times; ``timeline`` keeps the run history; ``requests``
writes requests made by hand and waits for the operator's answer; ``report`` renders one run as
a standalone HTML page.
"""
