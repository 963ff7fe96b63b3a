"""GitOps in the sandbox: a Git repository applied on every commit, as Flux applies one.

``serinus sandbox up --gitops DIR`` makes DIR a Git repository (:mod:`repository`) and runs
the applier (:mod:`applier`) as a part of the sandbox, ``serinus sandbox part gitops``. Each
commit on the branch is built like Flux's kustomize-controller builds a path (:mod:`build`:
``kubectl kustomize``, a generated kustomization for plain manifests), server-side applied with
field manager ``kustomize-controller``, and what the previous commit had and this one has not is
pruned (:mod:`apply`). The status shows where Flux shows it: a ``GitRepository`` and a
``Kustomization`` named ``flux-system`` in namespace ``flux-system`` and Events on the latter
(:mod:`objects`), and ``serinus sandbox status`` prints it. docs/sandbox.md compares it with Flux.
"""

from serinus.sandbox.gitops.applier import Applier, Settings
from serinus.sandbox.gitops.repository import Repository

__all__ = ["Applier", "Repository", "Settings"]
