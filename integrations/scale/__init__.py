"""Scale-out: past one process and past one machine (``docs/scale.md``).

* :mod:`.ray_engine` — the ``ray`` batch engine (``pawflow run … --batch … --engine ray``), registered in
  the ``pawflow.batch_engines`` entry-point group; the runtime resolves it by name, never imports it.
* :mod:`.cli` — ``pawflow export-peft NAME.paw DIR``, registered through ``pawflow.commands``: a
  program's adapter as a PEFT folder a vLLM server can load (the conversion is ``compiler.peft_export``).

The remote multi-LoRA interpreter backend is a runtime backend (``pawflow/backends/openai_lora.py``),
because a process that calls programs needs it without this package. Extra: ``pip install 'pawflow[scale]'``.
"""
