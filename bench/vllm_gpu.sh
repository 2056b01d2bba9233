#!/usr/bin/env bash
# pawflow on vLLM: one base, every shipped program's adapter, served by name (--enable-lora).
#
# PREPARED FOR A GPU MACHINE; NOT RUN ON THE CPU-ONLY DEVELOPMENT MACHINE (vLLM needs a CUDA GPU).
# Needs: an NVIDIA GPU, this checkout installed (pip install -e '.[compile,scale]'), and vLLM >= 0.12
# importable by $PYTHON (pip install vllm, where the machine can reach PyPI). Nothing is downloaded
# from a model hub: the base is converted from the embedded GGUF, the adapters come from the .paw files.
#
#   bash bench/vllm_gpu.sh                 # writes $OUT/report.json
#   OUT=/tmp/x PORT=8011 CONCURRENCY=64 LIMIT=200 bash bench/vllm_gpu.sh
#
# Steps: (1) prepare: HF base folder + PEFT adapters (bench/vllm_gpu.py prepare); (2) vllm serve with
# --enable-lora and every adapter in --lora-modules, runtime loading allowed; (3) measure: held-out rows
# of the fitted labels programs through pawflow's openai-lora backend vs local llama.cpp (agreement, EM,
# rows/s), and one adapter unloaded and loaded back at run time; (4) stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-/tmp/pawflow-vllm}
PORT=${PORT:-8011}
CONCURRENCY=${CONCURRENCY:-64}
LIMIT=${LIMIT:-200}
TIMEOUT_S=${TIMEOUT_S:-420}

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader \
    || { echo "no NVIDIA GPU here: vLLM cannot run on this machine (see docs/scale.md)" >&2; exit 2; }
"$PYTHON" -c "import vllm; print('vllm', vllm.__version__)" \
    || { echo "vLLM is not importable by $PYTHON: pip install vllm (>= 0.12)" >&2; exit 2; }

mkdir -p "$OUT"
"$PYTHON" bench/vllm_gpu.py prepare --out "$OUT" > "$OUT/lora-modules.args"
read -r -a MODULES < "$OUT/lora-modules.args"

VLLM_ALLOW_RUNTIME_LORA_UPDATING=True "$PYTHON" -m vllm.entrypoints.openai.api_server \
    --model "$OUT/base" --host 127.0.0.1 --port "$PORT" \
    --enable-lora --max-lora-rank 16 --max-loras 8 --max-cpu-loras 32 \
    --lora-modules "${MODULES[@]}" \
    --max-model-len 4096 --gpu-memory-utilization 0.5 > "$OUT/vllm.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT

for _ in $(seq "$TIMEOUT_S"); do
    curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
    kill -0 "$SERVER" 2>/dev/null || { tail -40 "$OUT/vllm.log" >&2; exit 1; }
    sleep 1
done
curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null || { echo "vLLM not ready after ${TIMEOUT_S}s" >&2; tail -40 "$OUT/vllm.log" >&2; exit 1; }

"$PYTHON" bench/vllm_gpu.py measure --url "http://127.0.0.1:$PORT/v1" --out "$OUT" \
    --limit "$LIMIT" --concurrency "$CONCURRENCY" --json | tee "$OUT/report.json"
