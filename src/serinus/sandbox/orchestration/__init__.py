"""Starting, stopping and inspecting a whole sandbox: ``serinus sandbox up``, ``down``, ``status``.

A sandbox lives in one directory (``.sandbox`` by default): the kubeconfig, ``state.json``
(which parts run, with their pids and ports), the parts' logs under ``logs/``, Prometheus' data,
and the workload runner's hosts files and pod directories. Each part is a process of its own,
in its own session, so that the parts can be stopped in order and a Ctrl-C in the terminal
reaches only the command the user ran.

Module map: ``up`` (start and wait for readiness), ``down`` (stop, and make sure nothing is
left), ``status`` (what runs where, as rich tables), ``parts`` (what each process runs and its
command line), ``processes`` (spawning, signalling, finding a sandbox's processes and sockets),
``state`` (``state.json``), ``shell`` (commands that see the sandbox's Service names).
"""
