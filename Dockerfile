# The hub's image: one image, two processes (hub serve, hub worker); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY hub ./hub
COPY schema ./schema
COPY web ./web
COPY adapters ./adapters
COPY consumers ./consumers
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --uid 10001 --home-dir /var/lib/brobygger --create-home brobygger
USER brobygger
EXPOSE 8000
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
