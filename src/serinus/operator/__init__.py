"""The operator: watches Canaries in a cluster and runs the state machine for each one.

It wires the Kubernetes-backed ports (targets, routers, metrics, webhooks, notifiers, the status
store and the event sink) to the controller, elects a leader so that two replicas never act at
once, and serves its own health and metrics endpoints. ``serinus operator`` builds the settings.
"""
