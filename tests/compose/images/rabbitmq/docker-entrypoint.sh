#!/bin/sh
# The part of the official rabbitmq image's entrypoint the compose file relies on.
set -eu
if [ "${1:-}" != rabbitmq-server ]; then exec "$@"; fi

{
  echo 'listeners.tcp.default = 5672'
  echo 'management.tcp.port = 15672'
  echo 'loopback_users.guest = false'
  if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then echo "default_user = $RABBITMQ_DEFAULT_USER"; fi
  if [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then echo "default_pass = $RABBITMQ_DEFAULT_PASS"; fi
} > /etc/rabbitmq/rabbitmq.conf
# It holds the password: the broker's user alone reads it.
chown rabbitmq:rabbitmq /etc/rabbitmq/rabbitmq.conf
chmod 600 /etc/rabbitmq/rabbitmq.conf
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
# Logs to standard output, as the official image's do.
export RABBITMQ_LOGS=- HOME=/var/lib/rabbitmq
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server
