#!/bin/sh
# Entry point of the platform image: for each NAME_FILE that is set (a secret mounted as a
# file: compose's generated secrets, or any orchestrator's), export NAME from the file,
# then run the command. Kubernetes passes Secrets as plain variables and needs none of it.
set -eu
for name in SECRET_KEY SKILLFORGE_METRICS_TOKEN DATABASE_URL REDIS_URL CELERY_BROKER_URL; do
  file=$(printenv "${name}_FILE" || true)
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then
      echo "entrypoint: ${name}_FILE=$file is not a readable file" >&2
      exit 1
    fi
    export "$name=$(cat "$file")"
  fi
done
exec "$@"
