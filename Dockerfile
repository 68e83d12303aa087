# beatmatch in a container: `docker build -t beatmatch .` then see README for `docker run`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BEATMATCH_STORAGE_DATA_DIR=/data

RUN useradd --create-home --uid 10001 beatmatch
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY recommender ./recommender
COPY storage ./storage
RUN pip install --upgrade pip && pip install .

# The database, models, charts and the generated encryption key live here: mount a volume.
RUN mkdir /data && chown beatmatch /data
VOLUME ["/data"]
USER beatmatch
EXPOSE 8080

ENTRYPOINT ["beatmatch"]
CMD ["run"]
