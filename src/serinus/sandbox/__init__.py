"""A local stand-in for a Kubernetes cluster, for the demo and the end-to-end tests.

``apiserver`` speaks the real Kubernetes HTTP API on a loopback port, so ``kubectl``, lightkube and
the operator work against it unchanged. Later parts (the workload runner, the mesh proxy) talk to it
over that same API, exactly as their real counterparts would.
"""
