"""``serinus demo``: the seed's canary releases, played for real in the sandbox.

Module map: ``play`` (start or reuse a sandbox, run the story, show the summary), ``story`` (the
seed's steps, and the two places the demo differs from the seed, said on screen), ``observe``
(the Canary, its TrafficSplit and the operator's log, as they change), ``clients`` (podinfo's
users, the load tester's results, the seed's fault injection), ``releases`` (what each release
saw), ``view`` (live screen or plain lines), ``summary`` (both releases and what their clients saw).
"""
