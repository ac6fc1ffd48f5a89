# RelayScope gateway image: slim Python, non-root, `relayscope serve` on 0.0.0.0:8787.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[otel]"

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RELAYSCOPE_DATA_DIR=/var/lib/relayscope
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/relayscope relayscope
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels "relayscope[otel]" \
    && rm -rf /wheels
USER relayscope
WORKDIR /var/lib/relayscope
VOLUME ["/var/lib/relayscope"]
EXPOSE 8787
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8787/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["relayscope"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8787"]
