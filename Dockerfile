# syntax=docker/dockerfile:1
# newsbot: build the package into a virtualenv, then copy only that venv into a slim runtime.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY storage ./storage
COPY bot ./bot
RUN pip install .

FROM python:3.11-slim AS runtime
# git: for git sources (git+https://…), cloned into the data folder.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEWSBOT_DATABASE_URL=sqlite:////app/data/newsbot.db
RUN groupadd --system --gid 10001 newsbot \
    && useradd --system --uid 10001 --gid newsbot --home-dir /app --create-home newsbot \
    && mkdir -p /app/data \
    && chown newsbot:newsbot /app/data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
# jieba builds its dictionary cache on first use; do it once here, not at every start.
RUN python -c "import jieba; jieba.initialize()"
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["newsbot", "healthcheck"]
CMD ["newsbot", "run"]
