# Atlas Streams worker image: `docker build -t atlas-streams .`
# Runs as a non-root user; tables and artifacts live in /data (mount a volume there).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ATLAS_DATA_DIR=/data \
    ATLAS_WEB_HOST=0.0.0.0 \
    ATLAS_WEB_PORT=6066

WORKDIR /app
COPY pyproject.toml README.md ./
COPY atlas_streams ./atlas_streams
RUN pip install ".[parquet]" \
    && useradd --create-home --uid 10001 atlas \
    && mkdir -p /data \
    && chown atlas:atlas /data

USER atlas
VOLUME ["/data"]
EXPOSE 6066
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:6066/health', timeout=2).status != 200)"
ENTRYPOINT ["atlas-streams"]
CMD ["worker"]
