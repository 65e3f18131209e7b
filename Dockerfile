# Twelve's image: one image, two commands. `twelve serve` is the application; `twelve sidecar` the
# local inference server, run as a second container beside it (deploy/k8s/, deploy/compose.yaml).
# `make setup-runtime` installs exactly what `make run` would: the Debian packages the local models
# need (flite, tesseract) and the pinned runtime lock, so the image and a developer's machine agree.
#   docker build -t twelve .
FROM python:3.11-slim-bookworm

WORKDIR /app
COPY Makefile pyproject.toml requirements.lock requirements-data.lock ./
COPY src ./src
COPY config ./config
# make drives the install (the Makefile adds the Debian packages the models run on); a compiler
# and cmake are there for what `make` builds from source (llama.cpp for local-chat) and leave
# in the same layer; libgomp1 (OpenMP, which that build links) stays.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make build-essential cmake libgomp1 \
    && make setup-runtime PYTHON=python3.11 \
    && command -v flite && command -v tesseract \
    && apt-get purge -y build-essential cmake && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/* /root/.cache

# Not root; data (the SQLite files, stored files) under /data, a volume in both deployments.
RUN useradd --system --uid 10001 --home-dir /data --create-home twelve
USER 10001
ENV PATH=/app/.venv/bin:$PATH \
    HOME=/data \
    TWELVE_DATA_DIR=/data \
    TWELVE_CONFIG=/app/config/twelve.yaml \
    TWELVE_LOG_FORMAT=json
VOLUME ["/data"]
# The application's port. The sidecar's (8765) is never exposed: it binds 127.0.0.1 in the pod.
EXPOSE 8080
# In a container the application must listen beyond loopback to be reached (set here, not baked
# into the image: TWELVE_HOST stays 127.0.0.1 everywhere else).
CMD ["twelve", "serve", "--host", "0.0.0.0"]
