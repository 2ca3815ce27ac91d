# syntax=docker/dockerfile:1
# newsbot: the locked dependencies and the package go into a virtualenv without pip, and only
# that venv is copied into a slim runtime. The image runs exactly what CI tested: CI installs
# requirements-dev.lock, and requirements.lock pins the same versions (see README, "Updating").

# The base image, pinned by digest so every build starts from the same bytes. To move it:
#   docker buildx imagetools inspect python:3.11-slim    # the "Digest:" of the multi-arch index
# put that digest here (or pass --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:…), rebuild,
# and run the tests. This digest was not read from a registry: none is reachable where the
# Dockerfile was written, so it is one published for python:3.11-slim; check it before use.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# The venv gets no pip (nor setuptools): the base image's pip installs into it with --python.
RUN python -m venv --without-pip /opt/venv
WORKDIR /src
COPY requirements.lock ./
RUN pip --python /opt/venv/bin/python install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY storage ./storage
COPY bot ./bot
RUN pip --python /opt/venv/bin/python install --no-deps . \
    && ! /opt/venv/bin/python -c "import pip" 2>/dev/null

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEWSBOT_DATABASE_URL=sqlite:////app/data/newsbot.db
# git: for git sources (git+https://…), cloned into the data folder. The base image's pip,
# setuptools and wheel are not needed at run time. /app/data belongs to uid 10001 and to group 0, writable by both, so a
# platform that runs the image under a random uid in group 0 (OpenShift) can write it too.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && python -m pip uninstall -y -q pip setuptools wheel \
    && groupadd --system --gid 10001 newsbot \
    && useradd --system --uid 10001 --gid newsbot --home-dir /app --create-home newsbot \
    && mkdir -p /app/data \
    && chown 10001:0 /app/data \
    && chmod 0775 /app/data
COPY --from=build /opt/venv /opt/venv
# jieba builds its dictionary cache on first use, in /tmp/jieba.cache, mode 0600. Build it once
# here and make it readable by every uid, so a `user:` override or a random uid loads it at
# start instead of rebuilding it (and logging "Dump cache file failed") every time.
RUN python -c "import jieba; jieba.initialize()" \
    && chmod 0644 /tmp/jieba.cache
WORKDIR /app
USER 10001:10001
VOLUME ["/app/data"]
EXPOSE 8080 9108
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["newsbot", "healthcheck"]
CMD ["newsbot", "run"]
