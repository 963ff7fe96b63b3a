# syntax=docker/dockerfile:1
# The serinus load tester image: `serinus loadtester` plus the programs webhook commands call
# (hey for load, curl for checks, kubectl for kubectl tasks, helm for helm/helmv3 tasks). Build it
# from the repository root:
#   docker build -f deploy/docker/loadtester.Dockerfile -t serinus/loadtester:0.1.0 .
# The chart runs it as `serinus loadtester --port=8080 ...` as user 10001 with HOME=/tmp.
#
# Every image is pinned by digest, and the Python packages by deploy/docker/constraints.txt, so a
# rebuild installs the same bits; docs/install.md ("Images") says how to move the pins forward.

ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
ARG KUBECTL_IMAGE=registry.k8s.io/kubectl:v1.33.3@sha256:aee0d617a26c05f79f566f710fee7afa9f72336fb4499f6f5f7b9ca00c6cde0c
ARG HELM_IMAGE=alpine/helm:3.16.2@sha256:a19a2968fd672336d39771f6c899781424d725229148656dbc2a1e305003cdec

# kubectl comes from the Kubernetes project's own image, helm (a static binary) from an image that
# carries the official release: no download script.
FROM ${KUBECTL_IMAGE} AS kubectl
FROM ${HELM_IMAGE} AS helm

FROM ${PYTHON_IMAGE} AS wheels
WORKDIR /build
COPY pyproject.toml README.md deploy/docker/constraints.txt ./
COPY src/ src/
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint constraints.txt .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends hey curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=kubectl /bin/kubectl /usr/local/bin/kubectl
COPY --from=helm /usr/bin/helm /usr/local/bin/helm
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels serinus \
 && groupadd --gid 10001 serinus \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /bin/bash serinus
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["serinus"]
CMD ["loadtester"]
