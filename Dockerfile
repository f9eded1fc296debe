# Multi-stage: build a venv with the app installed, then copy it into a slim, non-root runtime.
FROM python:3.11-slim AS build
# A C compiler for tracking/_rewrite.c (the link scanner); the runtime image needs none.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /venv
COPY pyproject.toml setup.py README.md ./
COPY governance governance
COPY auth auth
COPY policy_docs policy_docs
COPY tracking tracking
RUN /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home /app governance && mkdir -p /app/var && chown governance /app/var
COPY --from=build /venv /venv
WORKDIR /app
USER governance
ENV PATH=/venv/bin:$PATH \
    MS_ENV=production \
    MS_DATABASE_URL=sqlite+aiosqlite:////app/var/governance.db \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"
# Migrations first, then the server; MS_JWT_SECRET, MS_TOKEN_KEYS and MS_RECIPIENT_HASH_KEY must be provided (production refuses to start without).
CMD ["sh", "-c", "python -m governance database upgrade --no-prompt && exec granian --interface asgi --host 0.0.0.0 --port 8000 governance.asgi:app"]
