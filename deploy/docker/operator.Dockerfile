# syntax=docker/dockerfile:1
# The serinus operator image. Build it from the repository root (the context must hold src/):
#   docker build -f deploy/docker/operator.Dockerfile -t serinus/operator:0.1.0 .
# The chart runs it as `serinus operator --port=8080 ...` with a read-only root filesystem, as
# user 10001, with /tmp mounted writable. The base image is pinned by digest and the Python
# packages by deploy/docker/constraints.txt; docs/install.md ("Images") says how to update them.

ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

# Build the wheels of serinus and its dependencies once, so the final image holds no sources or
# build tools.
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
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels serinus \
 && groupadd --gid 10001 serinus \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin serinus
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["serinus"]
CMD ["operator"]
