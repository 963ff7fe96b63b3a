"""The sandbox's service mesh: one proxy playing Linkerd's data plane on loopback.

Every Service with a loopback cluster IP is served at ``clusterIP:port``; requests go to the
Service's ready pods, split across backend Services as the SMI TrafficSplit or Gateway API
HTTPRoute written by the serinus routers says, and are counted with the Linkerd proxy's metric
names and labels, so Flagger's Linkerd PromQL runs unchanged against a Prometheus scraping it.

Module map: ``proxy`` (:class:`MeshProxy`: start/stop, admin port), ``watching`` (API server ->
state), ``state`` (:class:`ClusterState`), ``table`` (state -> immutable routing table),
``routes`` and ``matching`` (TrafficSplit/HTTPRoute -> rules), ``workloads`` (Endpoints -> pods ->
Deployments), ``balancer`` (smooth weighted round-robin), ``forward`` (the HTTP relay),
``listeners`` (sockets), ``metrics`` (Linkerd's families), ``objects`` (manifest helpers).
"""

from serinus.sandbox.mesh.proxy import MeshProxy
from serinus.sandbox.mesh.state import ClusterState

__all__ = ["ClusterState", "MeshProxy"]
