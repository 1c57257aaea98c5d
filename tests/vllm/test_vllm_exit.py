"""A script that imports structgen before vLLM ends by itself once it has printed its results.

It used to hang there: numba (imported by structgen) registers `weakref.finalize`'s exit hook at import,
and if that happens before `multiprocessing.util` is imported (by torch, when vLLM comes first), the
exit hooks run in the wrong order (last in, first out): multiprocessing joins vLLM's engine process
before the finalizer that tells the engine to stop has run. The script runs in its own process, as a
user's would, with both of structgen's ways into vLLM: the logits processor and `VLLMLanguageModel`.
Judges: the process's own exit (killed, with its engine, if it does not come) and `re.fullmatch` on
the constrained output. Run with `make test-vllm`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.vllm

COLOR = "(red|green|blue)"

#: structgen first, and everything under the main guard: vLLM's processes are spawned and import the
#: script again (a structgen imported at their top level would load numba before vLLM's CPU worker scans
#: every module for kernels, which llvmlite's library wrapper breaks).
SCRIPT = textwrap.dedent('''
    import json
    import sys

    if __name__ == "__main__":
        import structgen
        from vllm import LLM, SamplingParams

        from structgen.integrations.vllm import VLLMLanguageModel
        from structgen.lm.loading import locate_model

        files = locate_model(None)
        llm = LLM(model=str(files.model_dir), tokenizer=str(files.tokenizer_dir), max_model_len=512, seed=0,
                  kv_cache_memory_bytes=256 * 2**20, max_logprobs=-1,
                  logits_processors=["structgen.integrations.vllm:LogitsProcessor"])
        params = SamplingParams(temperature=0.0, max_tokens=8, extra_args={"structgen": {"regex": sys.argv[2]}})
        text = llm.generate(["A color:"], params, use_tqdm=False)[0].outputs[0].text
        lm = VLLMLanguageModel(llm)
        rows = lm.next_token_logprobs([lm.encode_prompt("A color:")])
        with open(sys.argv[1], "w") as out:
            json.dump({"text": text, "width": rows.shape[1], "vocabulary": len(lm.vocabulary)}, out)
''')

#: Until the script has written its results: starting the engine takes minutes on two busy cores.
START_TIMEOUT_S = 900
#: From its results to its exit (stopping the engine takes seconds).
EXIT_TIMEOUT_S = 120


def test_a_script_that_imports_structgen_first_exits_by_itself(tmp_path):
    script, result, log = tmp_path / "script.py", tmp_path / "result.json", tmp_path / "script.log"
    script.write_text(SCRIPT)
    with open(log, "wb") as output:
        # Its own process group, so that a hung script is killed together with vLLM's processes.
        process = subprocess.Popen([sys.executable, str(script), str(result), COLOR], stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not result.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
        assert result.exists(), f"no results (exit code {process.poll()}); its log: {log}\n" + \
            log.read_text(errors="replace")[-3000:]
        try:
            code = process.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the script wrote its results but did not exit within {EXIT_TIMEOUT_S} s")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert code == 0, log.read_text(errors="replace")[-3000:]
    got = json.loads(result.read_text())
    assert re.fullmatch(COLOR, got["text"]), got
    assert got["width"] == got["vocabulary"], got
