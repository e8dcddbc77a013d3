#!/usr/bin/env bash
# Build the deployable app template for one stage:
#   chalice package -> dist/<stage>/sam.yaml + deployment.zip
#   infra/slim_package.py -> runtime code only; prints sizes; fails above the budget
#   infra/finalize_template.py -> roles, VPC, environment from the infra stack; rule checks
#   cfn-lint over the result and the infra templates.
# Usage: infra/package.sh [stage]          (STAGE env var also accepted; default dev)
#        OUT=dist/custom infra/package.sh prod
# Deploying the result is described in infra/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAGE="${1:-${STAGE:-dev}}"
OUT="${OUT:-$ROOT/dist/$STAGE}"
VENV_BIN="${VENV_BIN:-$ROOT/.venv/bin}"
PYTHON="${PYTHON:-$VENV_BIN/python}"
CHALICE="${CHALICE:-$VENV_BIN/chalice}"
CFN_LINT="${CFN_LINT:-$VENV_BIN/cfn-lint}"
# chalice package needs a region to name service principals; it does not call AWS.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"

if [[ ! "$STAGE" =~ ^[a-z][a-z0-9-]{0,15}$ ]]; then
  echo "package.sh: stage must match [a-z][a-z0-9-]{0,15}, got '$STAGE'" >&2
  exit 2
fi

cd "$ROOT"
rm -rf "$OUT"
mkdir -p "$OUT"
echo "==> chalice package (stage $STAGE) -> $OUT"
"$CHALICE" package --stage "$STAGE" --pkg-format cloudformation --template-format yaml "$OUT"
echo "==> precompile the app's bytecode into deployment.zip (Lambda cannot write __pycache__)"
"$PYTHON" "$ROOT/infra/precompile.py" "$OUT/deployment.zip"
echo "==> slim the package to runtime code; sizes against the budget (PACKAGE_BUDGET_MB, default 40)"
"$PYTHON" "$ROOT/infra/slim_package.py" "$OUT/deployment.zip"
echo "==> finalize + rule checks"
"$PYTHON" "$ROOT/infra/finalize_template.py" finalize --stage "$STAGE" --project-dir "$ROOT" "$OUT/sam.yaml"
echo "==> connection budget"
"$PYTHON" "$ROOT/infra/finalize_template.py" budget --stage "$STAGE" "$OUT/sam.yaml"
echo "==> cfn-lint"
"$CFN_LINT" "$OUT/sam.yaml" "$ROOT/infra/resources.yaml" "$ROOT/infra/network.yaml"
cp "$ROOT/infra/resources.yaml" "$ROOT/infra/network.yaml" "$OUT/"

cat <<MSG
==> done: $OUT/sam.yaml, $OUT/deployment.zip
Next (see infra/README.md):
  aws cloudformation deploy --stack-name stepflow-$STAGE-resources --template-file $OUT/resources.yaml \\
      --capabilities CAPABILITY_IAM --parameter-overrides Stage=$STAGE VpcId=... PrivateSubnetIds=...
  aws cloudformation package --template-file $OUT/sam.yaml --s3-bucket \$BUCKET --output-template-file $OUT/packaged.yaml
  aws cloudformation deploy --stack-name stepflow-$STAGE-app --template-file $OUT/packaged.yaml \\
      --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND
MSG
