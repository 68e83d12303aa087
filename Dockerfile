# beatmatch in a container: `docker build -t beatmatch .` then see README for `docker run`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_WAIT_POLICY=PASSIVE \
    BEATMATCH_STORAGE_DATA_DIR=/data \
    BEATMATCH_WEB_HOST=0.0.0.0

RUN useradd --create-home --uid 10001 beatmatch
WORKDIR /app
# The dependencies first, exactly as pinned (with hashes) in requirements.lock (`make lock`
# refreshes it), in a layer of their own that code changes don't rebuild; then beatmatch itself,
# which may bring nothing else.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY recommender ./recommender
COPY storage ./storage
RUN pip install --no-deps . && pip check

# The database, models, charts and the generated encryption key live here: mount a volume.
RUN mkdir /data && chown beatmatch /data
VOLUME ["/data"]
USER beatmatch
# The web server: OAuth callbacks, /healthz (liveness), /readyz (readiness: the HEALTHCHECK below)
# and (with web.public_url) Telegram's webhook.
EXPOSE 8080
HEALTHCHECK --interval=60s --timeout=5s --start-period=120s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('BEATMATCH_WEB_PORT', '8080') + '/readyz', timeout=4)"

# beatmatch is PID 1 and handles SIGTERM itself: `docker stop` is a clean shutdown. `serve` never
# reads stdin (unlike `run` without a token, which is the console): with no chat token set it
# warns and serves the web app alone instead of exiting, so `--restart unless-stopped` can't loop.
STOPSIGNAL SIGTERM
ENTRYPOINT ["beatmatch"]
CMD ["serve"]
