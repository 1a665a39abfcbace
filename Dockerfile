# Pathwise production image: the `pathwise` command on Python 3.11, run as a non-root user.
# One image serves every role; docker-compose.yml picks the command
# (serve, worker, scheduler, db upgrade).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 pathwise \
    && useradd --system --uid 10001 --gid pathwise --create-home --home-dir /home/pathwise pathwise

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p lti_tool xapi adaptive admin \
    && touch lti_tool/__init__.py xapi/__init__.py adaptive/__init__.py admin/__init__.py \
    && pip install . \
    && pip uninstall --yes pathwise \
    && rm -rf lti_tool xapi adaptive admin build

# Then the code itself (templates, static files and migrations ship as package data).
COPY lti_tool ./lti_tool
COPY xapi ./xapi
COPY adaptive ./adaptive
COPY admin ./admin
RUN pip install --no-deps . && rm -rf build *.egg-info

USER pathwise
WORKDIR /home/pathwise

# Production unless told otherwise: Settings refuse to start without DATABASE_URL,
# REDIS_URL, PATHWISE_SECRET_KEY, PATHWISE_ENCRYPTION_KEY and an https PATHWISE_BASE_URL.
ENV PATHWISE_ENV=production \
    PATHWISE_DATA_DIR=/home/pathwise/instance

EXPOSE 8000
CMD ["pathwise", "serve", "--host", "0.0.0.0", "--port", "8000"]
