"""The operator's web dashboard (``serinus operator --dashboard-port``): see ``app``; who may see
and do what is decided by Kubernetes (``guard``)."""
