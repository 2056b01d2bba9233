"""The paper's text-to-LoRA compiler (Program-as-Weights §3.2, §4, Appendix G), scaled to what runs here.

A *trained* compiler turns a spec (+ its pseudo-program) into a LoRA for the frozen interpreter in one
forward pass: no gradient descent at compile time. The pieces, one concept per module:

* :mod:`.config` — every knob, with presets (``tiny`` for tests, ``cpu`` for a 2-core machine, ``gpu``);
* :mod:`.data` — FuzzyBench-format tasks (JSONL ``spec, input, output``), split by task 80/10/10;
* :mod:`.synthetic` — an offline generator of fuzzy-function task families with programmatic answers;
* :mod:`.pseudo_cache` — pseudo-programs pre-generated once per spec into a JSONL (Appendix G);
* :mod:`.encoder` — the compiler LM reading ``[spec | pseudo-program | EOS | tau_1..tau_T]``;
* :mod:`.mapper` — pooled hidden states -> mixing coefficients over shared LoRA bases (or a KV prefix);
* :mod:`.injection` — per-example LoRA / KV-prefix injection into the frozen torch interpreter;
* :mod:`.rows` — interpreter rows tokenized exactly as the llama.cpp runtime tokenizes them;
* :mod:`.model` — encoder + mapper as one module; :mod:`.checkpoint` — save / load / resume;
* :mod:`.train` — the training loop (grad accumulation, AdamW, DDP-ready); :mod:`.export` — spec -> GGUF LoRA;
* :mod:`.method` — ``pawflow compile --method hypernet --checkpoint DIR``.

Like the rest of ``compiler``, importing this package is light: torch is imported inside functions.
"""
