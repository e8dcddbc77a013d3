#!/usr/bin/env bash
# Manage the Fernet keys in the stepflow/<stage>/secret-keys secret
# (comma-separated, newest first; read by chalicelib/secrets.py).
#   infra/secret_keys.sh init <stage>     put a first key if the secret has none
#   infra/secret_keys.sh rotate <stage>   prepend a new key (old ones still decrypt)
# Needs the aws CLI with credentials for the target account, and Python with
# the cryptography package (the project .venv has it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
ACTION="${1:?usage: secret_keys.sh init|rotate <stage>}"
STAGE="${2:?usage: secret_keys.sh init|rotate <stage>}"
SECRET_ID="stepflow/$STAGE/secret-keys"

new_key() { "$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'; }
current() { aws secretsmanager get-secret-value --secret-id "$SECRET_ID" --query SecretString --output text 2>/dev/null || true; }

case "$ACTION" in
  init)
    if [[ -n "$(current)" ]]; then
      echo "$SECRET_ID already holds keys; nothing to do"
      exit 0
    fi
    aws secretsmanager put-secret-value --secret-id "$SECRET_ID" --secret-string "$(new_key)" >/dev/null
    echo "$SECRET_ID: first key stored"
    ;;
  rotate)
    existing="$(current)"
    [[ -n "$existing" ]] || { echo "$SECRET_ID is empty: run init first" >&2; exit 1; }
    aws secretsmanager put-secret-value --secret-id "$SECRET_ID" --secret-string "$(new_key),$existing" >/dev/null
    echo "$SECRET_ID: new key prepended; new Lambda containers encrypt with it"
    ;;
  *)
    echo "usage: secret_keys.sh init|rotate <stage>" >&2
    exit 2
    ;;
esac
