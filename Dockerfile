# Production image: migrations, then gunicorn, as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SIGNAGE_ENV=production MEDIA_ROOT=/data/media

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY signage ./signage
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py ./

RUN useradd --system --uid 10001 --home /app signage \
    && mkdir -p /data/media /app/instance && chown -R signage /data /app/instance
USER signage

EXPOSE 8000
# SECRET_KEY and DATABASE_URL come from the environment; the app refuses to start without a key.
CMD ["sh", "-c", "flask --app wsgi db upgrade && exec gunicorn -c gunicorn.conf.py wsgi:app"]
