# syntax=docker/dockerfile:1
# The serinus load tester image: `serinus loadtester` plus the programs webhook commands call
# (hey for load, curl for checks, kubectl for kubectl tasks). Build it from the repository root:
#   docker build -f deploy/docker/loadtester.Dockerfile -t serinus/loadtester:0.1.0 .
# The chart runs it as `serinus loadtester --port=8080 ...` as user 10001 with HOME=/tmp.

ARG PYTHON_IMAGE=python:3.11-slim
ARG KUBECTL_IMAGE=registry.k8s.io/kubectl:v1.33.4

# kubectl comes from the Kubernetes project's own image (pinned by tag, no download script).
FROM ${KUBECTL_IMAGE} AS kubectl

FROM ${PYTHON_IMAGE} AS wheels
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src/ src/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends hey curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=kubectl /bin/kubectl /usr/local/bin/kubectl
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels serinus \
 && groupadd --gid 10001 serinus \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /bin/bash serinus
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["serinus"]
CMD ["loadtester"]
