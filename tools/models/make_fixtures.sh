#!/usr/bin/env bash
# Trains the reference models with the real libraries (../shared/tools/peers) and writes them,
# their test rows and the libraries' own predictions under Tests/Fixtures/models/:
#   lgb-seed, lgb-nano, lgb-cat, xgb   (make_tree_models.py, 1,000 test rows each)
#   mlp-relu-64-64, mlp-tanh-32, mlp-logistic-64-32-16   (make_mlp.py, 1,000 rows each)
# Run from the repository root: bash tools/models/make_fixtures.sh
set -euo pipefail
peers="$(cd "$(dirname "$0")/../../../shared/tools/peers" && pwd)"
PY="$("$peers/setup.sh" | tail -1)/bin/python"
out=Tests/Fixtures/models
for kind in lgb-seed lgb-nano lgb-cat xgb; do
  "$PY" "$peers/make_tree_models.py" "$kind" "$out/$kind" --rows 1000
done
"$PY" "$peers/make_mlp.py" "$out/mlp-relu-64-64" --hidden 64,64 --activation relu --rows 1000
"$PY" "$peers/make_mlp.py" "$out/mlp-tanh-32" --hidden 32 --activation tanh --rows 1000
"$PY" "$peers/make_mlp.py" "$out/mlp-logistic-64-32-16" --hidden 64,32,16 --activation logistic --rows 1000
