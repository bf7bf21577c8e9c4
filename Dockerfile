# syntax=docker/dockerfile:1
# One image for the four services. The container command picks the service:
#   docker run <image> services.profile            -> serves on PORT (8001)
#   docker run <image> services.profile migrate    -> runs its Alembic migrations and exits

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, read from pyproject, so a code change does not reinstall numpy/scipy.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0
# A numeric uid so Kubernetes' runAsNonRoot can verify it without resolving names.
RUN groupadd --system --gid 10001 cvp \
    && useradd --system --uid 10001 --gid cvp --no-create-home --shell /usr/sbin/nologin cvp
COPY --from=build /opt/venv /opt/venv
# An empty working directory: `python -m services.<name>` then imports the installed package
# (with its migrations as package data), never a stray source tree.
WORKDIR /app
USER 10001:10001
EXPOSE 8001 8002 8003 8004
# Exec form: python is PID 1 and receives SIGTERM itself; uvicorn turns it into a lifespan shutdown,
# so the consumer finishes its batch and commits before the process exits.
ENTRYPOINT ["python", "-m"]
CMD ["services.profile"]
