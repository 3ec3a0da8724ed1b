# An Airlock worker: the runner and the Docker client; it runs submissions on the host's
# engine through the mounted socket (so it is trusted infrastructure, not a sandbox).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}
COPY pyproject.toml README.md /opt/airlock/
COPY runner /opt/airlock/runner
RUN pip install --no-cache-dir /opt/airlock
ENTRYPOINT []
CMD ["airlock", "worker"]
