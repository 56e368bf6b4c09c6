# Production image (deploy/compose.yaml builds it): Fairmeet and its browser files, run as a non-root user.

# 1. The background-effect files (MediaPipe selfie segmentation: model and wasm runtime), the same pinned version and
#    the same files as the Makefile's segmentation step copies into web/static/vendor/selfie_segmentation.
FROM node:22-slim AS vendor
ARG SEGMENTATION=@mediapipe/selfie_segmentation@0.1.1675465747
RUN npm install --silent --no-audit --no-fund --no-package-lock --prefix /npm "$SEGMENTATION" \
 && mkdir -p /vendor/selfie_segmentation \
 && cd /npm/node_modules/@mediapipe/selfie_segmentation \
 && cp ./*.js ./*.wasm ./*.tflite ./*.binarypb ./*.data package.json /vendor/selfie_segmentation/

# 2. Fairmeet and its dependencies, installed into a virtual environment that the last stage copies whole.
FROM python:3.11-slim AS build
RUN python -m venv /opt/fairmeet
ENV PATH=/opt/fairmeet/bin:$PATH
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip
COPY pyproject.toml README.md ./
COPY scheduling ./scheduling
COPY signaling ./signaling
COPY media ./media
COPY web ./web
# The package data (pyproject.toml) carries templates/, the whole static/ tree (livechat/ included) and the migrations;
# tests/deploy/test_compose.py builds the wheel from these same directories and checks it.
RUN pip install --no-cache-dir .
COPY --from=vendor /vendor/selfie_segmentation /opt/fairmeet/lib/python3.11/site-packages/web/static/vendor/selfie_segmentation

# 3. The image that runs: no compilers, no npm, a user of its own.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/fairmeet/bin:$PATH \
    FAIRMEET_SECRET_FILE=/data/secret_key FAIRMEET_UPLOAD_DIR=/data/uploads
RUN useradd --create-home --uid 10001 fairmeet \
 && mkdir -p /data/uploads && chown -R fairmeet:fairmeet /data && chmod 700 /data/uploads
COPY --from=build /opt/fairmeet /opt/fairmeet
USER fairmeet
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3)"]
CMD ["fairmeet", "serve", "--host", "0.0.0.0", "--port", "8000"]
