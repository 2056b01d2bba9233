"""Static validation: every problem found at once, each with file, line and hint; fuzzed for crashes."""

from __future__ import annotations

import copy
import random
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pawflow.errors import PipelineValidationError
from pawflow.pipeline import Pipeline, validate_file
from pawflow.pipeline.engine import Engine
from pawflow.pipeline.validate import analyze_data, analyze_text


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def codes(report) -> set[tuple[str, int | None]]:
    return {(p.code, p.line) for p in report.problems}


def test_every_problem_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "many.yaml", """
        name: many
        inputs:
          text: {type: str}
          spare: {type: int}
        steps:
          split:
            kind: python
            function: tests.pipeline_steps:words
            inputs: {text: inputs.txt}
          n:
            kind: python
            function: tests.pipeline_steps:count
            inputs: {items: steps.split.valu, extra: inputs.text}
            params: {minimum: "three"}
          year:
            kind: regex
            pattern: '(?P<year>\\d{4}'
            inputs: {text: steps.split.value}
          greet:
            kind: template
            template: "Hello {{ nmae }}"
            inputs: {name: inputs.text}
          a:
            kind: template
            template: "{{ x }}"
            inputs: {x: steps.b.value}
          b:
            kind: template
            template: "{{ x }}"
            inputs: {x: steps.a.value}
          gone:
            kind: python
            function: no_such_module_xyz:f
            inputs: {text: inputs.text}
          typo:
            kind: pyhton
        outputs:
          count: steps.n.value
          year: steps.year.year
          greeting: steps.greet.value
          loop: steps.b.value
          broken: steps.typo.value
        """)
    report = validate_file(path)
    found = codes(report)
    expected = {
        ("schema", 36),                # kind: pyhton
        ("unknown-reference", 9),      # inputs.txt
        ("unknown-reference", 13),     # steps.split.valu
        ("python-signature", 13),      # count() has no parameter 'extra'
        ("type-mismatch", 14),         # minimum: "three" is not an int
        ("bad-regex", 17),
        ("type-mismatch", 18),         # a list into a regex
        ("template-undefined", 21),    # {{ nmae }}
        ("cycle", 26),                 # a → b → a, on a's reference to b
        ("python-import", 33),
        ("unused-step", 31),           # nothing reads `gone`
        ("unused-input", 4),           # a warning, not an error
    }
    assert found == expected, f"missing {expected - found}, unexpected {found - expected}"
    by_code = {p.code: p for p in report.problems}
    assert "did you mean 'text'" in by_code["unknown-reference"].hint or any(
        "did you mean 'text'" in (p.hint or "") for p in report.problems)
    assert by_code["unused-input"].severity == "warning"
    assert all(p.file == str(path) for p in report.problems)
    assert "did you mean 'python'" in next(p for p in report.problems if p.code == "schema").hint
    with pytest.raises(PipelineValidationError) as info:
        Pipeline.load(path)
    assert len(info.value.problems) == len(report.problems)  # load reports the same, all at once


def test_yaml_syntax_error_and_duplicate_keys_are_located(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", """
        name: x
        steps:
          a: {kind: template, template: "x"
        outputs: {o: steps.a.value}
        """)
    report = validate_file(broken)
    assert [p.code for p in report.problems] == ["yaml"] and report.problems[0].line is not None
    dup = write(tmp_path, "dup.yaml", """
        name: x
        steps:
          a: {kind: template, template: "x"}
          a: {kind: template, template: "y"}
        outputs: {o: steps.a.value}
        """)
    problem = validate_file(dup).problems[0]
    assert problem.code == "yaml" and "duplicate key 'a'" in problem.message and problem.line == 4


def test_yaml_boolean_keys_get_a_yaml_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "on.yaml", """
        name: x
        inputs: {t: {type: str}}
        steps:
          s:
            kind: switch
            cases: [a, b]
            inputs: {on: inputs.t}
        outputs: {o: steps.s.a}
        """)
    problems = validate_file(path).problems
    hit = next(p for p in problems if "not a string" in p.message)
    assert hit.line == 7 and "booleans" in hit.hint


def test_missing_program_points_at_its_source(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "programs").mkdir()
    (tmp_path / "programs" / "ticket-kind.yaml").write_text("name: ticket-kind\nspec: x\n")
    path = write(tmp_path, "p.yaml", """
        name: x
        inputs: {text: {type: str}}
        steps:
          kind: {kind: program, program: ticket-kind, inputs: {text: inputs.text}}
        outputs: {o: steps.kind.value}
        """)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAWFLOW_PATH", raising=False)
    problem = next(p for p in validate_file(path).problems if p.code == "program-not-found")
    assert problem.line == 4 and problem.step == "kind"
    assert problem.hint == "compile it first: pawflow compile programs/ticket-kind.yaml"


def test_impossible_switch_case_makes_downstream_unreachable(tmp_path: Path) -> None:
    path = write(tmp_path, "sw.yaml", """
        name: x
        inputs: {score: {type: float}}
        steps:
          grade: {kind: python, function: tests.pipeline_steps:grade, inputs: {score: inputs.score}}
          sw:
            kind: switch
            cases: [low, hihg]
            inputs: {value: steps.grade.value}
          shout: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: steps.sw.hihg}}
          merged: {kind: coalesce, inputs: {a: steps.shout.value, b: steps.sw.low}}
        outputs: {o: steps.merged.value, s: steps.shout.value}
        """)
    report = validate_file(path)
    impossible = next(p for p in report.problems if p.code == "impossible-case")
    assert impossible.line == 7 and "did you mean 'high'" in impossible.hint
    unreachable = [p for p in report.problems if p.code == "unreachable-step"]
    assert [p.step for p in unreachable] == ["shout"]  # merged still has the `low` branch


def test_type_mismatches_between_connected_steps(tmp_path: Path) -> None:
    path = write(tmp_path, "types.yaml", """
        name: x
        inputs: {text: {type: str}, n: {type: int}}
        steps:
          words: {kind: python, function: tests.pipeline_steps:words, inputs: {text: inputs.text}}
          loud: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: steps.words.value}}
          m:
            kind: map
            inputs: {over: inputs.text}
            step: {kind: template, template: "{{ i }}", inputs: {i: item}}
          sw: {kind: switch, cases: [a], inputs: {value: inputs.n}}
          back: {kind: template, template: "{{ t }}", inputs: {t: item}}
        outputs: {a: steps.loud.value, b: steps.m.value, c: steps.sw.a, d: steps.back.value}
        """)
    problems = [p for p in validate_file(path).problems if p.severity == "error"]
    lines = {(p.code, p.line) for p in problems}
    assert ("type-mismatch", 5) in lines   # list into shout(text: str)
    assert ("type-mismatch", 8) in lines   # map over a str
    assert ("type-mismatch", 10) in lines  # switch on an int
    assert ("unknown-reference", 11) in lines  # `item` outside a map
    message = next(p.message for p in problems if p.line == 5)
    assert "expects str but steps.words.value is list" in message


def test_nested_pipelines_recursion_and_their_own_errors(tmp_path: Path) -> None:
    write(tmp_path, "outer.yaml", """
        name: outer
        inputs: {text: {type: str}}
        steps:
          inner: {kind: pipeline, path: inner.yaml, inputs: {text: inputs.text}}
        outputs: {o: steps.inner.out}
        """)
    write(tmp_path, "inner.yaml", """
        name: inner
        inputs: {text: {type: str}}
        steps:
          back: {kind: pipeline, path: outer.yaml, inputs: {text: inputs.text}}
        outputs: {out: steps.back.o}
        """)
    problems = validate_file(tmp_path / "outer.yaml").problems
    recursion = next(p for p in problems if p.code == "pipeline-recursion")
    assert recursion.file.endswith("inner.yaml") and "outer.yaml → inner.yaml → outer.yaml" in recursion.message
    write(tmp_path, "bad_inner.yaml", """
        name: bad_inner
        inputs: {text: {type: str}}
        steps:
          t: {kind: template, template: "{{ nope }}", inputs: {text: inputs.text}}
        outputs: {out: steps.t.value}
        """)
    write(tmp_path, "outer2.yaml", """
        name: outer2
        inputs: {text: {type: str}}
        steps:
          inner: {kind: pipeline, path: bad_inner.yaml, inputs: {text: inputs.text, extra: inputs.text}}
        outputs: {o: steps.inner.out}
        """)
    problems = validate_file(tmp_path / "outer2.yaml").problems
    assert any(p.file.endswith("bad_inner.yaml") and p.code == "template-undefined" and p.line == 4 for p in problems)
    assert any(p.file.endswith("outer2.yaml") and p.code == "pipeline-invalid" for p in problems)


def test_route_conditions_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "route.yaml", """
        name: x
        inputs: {n: {type: int}}
        steps:
          r:
            kind: route
            inputs: {n: inputs.n}
            routes:
              - {when: "n >", to: big}
              - {when: "m < 3", to: small}
        outputs: {o: steps.r.big, p: steps.r.small}
        """)
    found = codes(validate_file(path))
    assert ("bad-expression", 8) in found and ("template-undefined", 9) in found


# --------------------------------------------------------------------------- fuzzing

garbage_text = st.text(alphabet=st.characters(blacklist_characters=":", blacklist_categories=("Cs",)), max_size=12)
field_names = st.sampled_from(["name", "inputs", "steps", "outputs", "kind", "type", "program", "function", "pattern",
                               "template", "cases", "routes", "when", "to", "default", "step", "over", "value",
                               "payload", "path", "params", "timeout", "labels"])
garbage_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), garbage_text,
                            st.sampled_from(["program", "python", "switch", "map", "inputs.x", "steps.a.value", "item",
                                             "{{ x }}", "(?P<g>", "str", "labels"]))
garbage = st.recursive(garbage_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(field_names, garbage_text), inner, max_size=5)), max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage)
def test_validation_never_crashes_on_arbitrary_yaml(data) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    analysis = analyze_text(text, "garbage.yaml")
    n_lines = text.count("\n") + 1
    for problem in analysis.problems:
        assert problem.file == "garbage.yaml" and problem.message
        assert problem.line is None or 1 <= problem.line <= n_lines
    if not isinstance(data, dict):
        assert analysis.problems, "a non-mapping file must be reported"
    if analysis.ok:
        assert analysis.spec is not None
        assert sorted(n for level in analysis.levels for n in level) == sorted(analysis.spec.steps)


VALID = {
    "name": "fuzz",
    "inputs": {"text": {"type": "str"}, "n": {"type": "int", "default": 2}},
    "steps": {
        "words": {"kind": "python", "function": "tests.pipeline_steps:words", "inputs": {"text": "inputs.text"}},
        "count": {"kind": "python", "function": "tests.pipeline_steps:count", "inputs": {"items": "steps.words.value"},
                  "params": {"minimum": 1}},
        "year": {"kind": "regex", "pattern": "(?P<year>\\d{4})", "inputs": {"text": "inputs.text"}},
        "route": {"kind": "route", "inputs": {"c": "steps.count.value", "payload": "inputs.text"},
                  "routes": [{"when": "c > 3", "to": "long"}], "default": "short"},
        "loud": {"kind": "python", "function": "tests.pipeline_steps:shout", "inputs": {"text": "steps.route.long"}},
        "quiet": {"kind": "template", "template": "{{ t | lower }}", "inputs": {"t": "steps.route.short"}},
        "merged": {"kind": "coalesce", "inputs": {"a": "steps.loud.value", "b": "steps.quiet.value"}},
        "each": {"kind": "map", "inputs": {"over": "steps.words.value"},
                 "step": {"kind": "template", "template": "{{ index }}={{ item }}", "inputs": {"item": "item", "index": "index"}}},
    },
    "outputs": {"merged": "steps.merged.value", "year": "steps.year.year", "each": "steps.each.value"},
}


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _mutate(data, seed: int, replacement):
    rng = random.Random(seed)
    data = copy.deepcopy(data)
    paths = [p for p in _paths(data) if p]
    path = rng.choice(paths)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    action = rng.choice(["delete", "replace", "rename-ref", "swap"])
    if action == "delete":
        del parent[path[-1]]
    elif action == "replace":
        parent[path[-1]] = replacement
    elif action == "rename-ref":
        refs = [p for p in paths if isinstance(_get(data, p), str) and str(_get(data, p)).startswith(("steps.", "inputs."))]
        if refs:
            target = rng.choice(refs)
            _set(data, target, rng.choice(["steps.nope.value", "steps.words.nope", "inputs.nope", "steps.merged.value",
                                           "steps.each.value", "inputs.n", "steps.route.long"]))
    else:
        other = rng.choice(paths)
        try:
            value = copy.deepcopy(_get(data, other))
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            pass
    return data


def _get(data, path):
    for part in path:
        data = data[part]
    return data


def _set(data, path, value):
    _get(data, path[:-1])[path[-1]] = value


def test_the_fuzzing_baseline_is_valid_and_runs() -> None:
    analysis = analyze_data(VALID, {}, "fuzz.yaml", Path.cwd())
    assert analysis.ok, [str(p) for p in analysis.problems]
    result = Engine(analysis).run({"text": "a b c d e in 2024"})
    assert result.outputs["merged"] == "A B C D E IN 2024!" and result.outputs["year"] == "2024"
    assert result.outputs["each"][:2] == ["0=a", "1=b"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=3), garbage)
def test_validation_never_crashes_on_mutated_pipelines(seeds, replacement) -> None:
    data = VALID
    for seed in seeds:
        data = _mutate(data, seed, replacement)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    analysis = analyze_text(text, "mutant.yaml")
    for problem in analysis.problems:
        assert problem.message and problem.code
    if analysis.ok:  # whatever survived validation must also be executable as planned
        engine = Engine(analysis)
        order = [name for level in analysis.levels for name in level]
        assert sorted(order) == sorted(engine.spec.steps)
    else:
        assert analysis.problems


# --------------------------------------------------------------------------- topological order


@st.composite
def random_dags(draw):
    n = draw(st.integers(2, 9))
    names = [f"s{i}" for i in range(n)]
    edges: dict[str, list[str]] = {}
    for index, name in enumerate(names):
        earlier = names[:index]
        edges[name] = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
    declared = draw(st.permutations(names))  # file order is not execution order
    return names, edges, declared


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dags())
def test_execution_order_respects_every_edge(dag) -> None:
    names, edges, declared = dag
    steps = {}
    for name in declared:
        inputs = {f"i{k}": f"steps.{dep}.value" for k, dep in enumerate(edges[name])} or {"t": "inputs.text"}
        body = "".join("{{ " + key + " }}" for key in inputs)
        steps[name] = {"kind": "template", "template": f"{name}({body})", "inputs": inputs}
    sinks = [n for n in names if not any(n in deps for deps in edges.values())]
    data = {"name": "dag", "inputs": {"text": {"type": "str"}}, "steps": steps,
            "outputs": {f"o_{n}": f"steps.{n}.value" for n in sinks}}
    analysis = analyze_data(data, {}, "dag.yaml", Path.cwd())
    assert analysis.ok, [str(p) for p in analysis.problems]
    level_of = {name: index for index, level in enumerate(analysis.levels) for name in level}
    for name, deps in edges.items():
        for dep in deps:
            assert level_of[dep] < level_of[name]

    result = Engine(analysis).run({"text": "x"})
    timing = {t.step: t for t in result.trace}
    for name, deps in edges.items():
        for dep in deps:
            assert timing[dep].started_ms + timing[dep].duration_ms <= timing[name].started_ms + 1e-6

    def expected(name: str) -> str:  # evaluate the DAG independently of the engine
        return f"{name}(" + ("".join(expected(d) for d in edges[name]) if edges[name] else "x") + ")"

    assert result.outputs == {f"o_{n}": expected(n) for n in sinks}


# --------------------------------------------------------------------------- the python-step convention

STEP_PIPELINE = """
name: conv
inputs:
  text: {type: str}
steps:
  loud:
    kind: python
    function: FUNCTION
    inputs: {text: inputs.text}
outputs:
  loud: steps.loud.value
"""


def _python_problem(report, code: str):
    found = [p for p in report.problems if p.code == code]
    assert len(found) == 1, report.problems
    return found[0]


def test_a_file_path_in_function_is_explained_as_an_import_path(tmp_path: Path) -> None:
    (tmp_path / "conv_steps.py").write_text("def loud(text: str) -> str:\n    return text.upper()\n")
    for written in ("conv_steps.py:loud", "./conv_steps:loud", "pipelines/conv_steps.py:loud"):
        report = validate_file(write(tmp_path, "conv.yaml", STEP_PIPELINE.replace("FUNCTION", written)))
        problem = _python_problem(report, "schema")
        assert problem.line == 7 and problem.step == "loud"
        assert "names a file; python steps name an import path" in problem.message
        assert "conv_steps:loud for a conv_steps.py next to the pipeline" in problem.message
    fixed = validate_file(write(tmp_path, "conv.yaml", STEP_PIPELINE.replace("FUNCTION", "conv_steps:loud")))
    assert fixed.ok, fixed.problems


def test_an_unimportable_module_names_where_it_looked_and_the_convention(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, "conv.yaml", STEP_PIPELINE.replace("FUNCTION", "conv_missing_steps:loud")))
    problem = _python_problem(report, "python-import")
    assert problem.line == 7
    assert f"neither next to the pipeline (in {tmp_path.resolve()}) nor an installed module" in problem.message
    assert "a module next to the pipeline file" in problem.hint and "docs/pipelines.md" in problem.hint


def test_two_folders_cannot_both_own_a_steps_module_name(tmp_path: Path) -> None:
    """Module names are global in a process: the second folder's file would silently lose to the first."""
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, word in ((first, "first"), (second, "second")):
        folder.mkdir()
        (folder / "conv_shared_steps.py").write_text(f"def loud(text: str) -> str:\n    return {word!r}\n")
        write(folder, "conv.yaml", STEP_PIPELINE.replace("FUNCTION", "conv_shared_steps:loud"))
    assert Pipeline.load(first / "conv.yaml").run(text="x").outputs == {"loud": "first"}
    again = validate_file(first / "conv.yaml")  # the same folder again: the same module, no problem
    assert again.ok, again.problems
    report = validate_file(second / "conv.yaml")
    problem = _python_problem(report, "python-import")
    assert "module 'conv_shared_steps' is already imported from" in problem.message
    assert str((first / "conv_shared_steps.py").resolve()) in problem.message
    assert "give the steps module a name of its own" in problem.message


def test_shipped_pipelines_follow_the_python_step_convention() -> None:
    """Steps of a shipped pipeline are either its own module next to it, named ``<pipeline name>_steps``,
    or a module of an installed package named by its package path — never a loose module of another name."""
    import importlib.util

    repo = Path(__file__).resolve().parents[1]
    checked = 0
    for path in sorted((repo / "pipelines").glob("*.yaml")):
        analysis = analyze_data(yaml.safe_load(path.read_text()), {}, str(path), path.parent)
        assert analysis.spec is not None, analysis.problems
        steps = list(analysis.spec.steps.values())
        steps += [s.step for s in analysis.spec.steps.values() if s.kind == "map"]
        for step in steps:
            if step.kind != "python":
                continue
            module = step.function.partition(":")[0]
            top = module.partition(".")[0]
            if (path.parent / f"{top}.py").is_file():
                assert top == f"{analysis.spec.name}_steps", f"{path.name}: {step.function}"
            else:
                assert "." in module and importlib.util.find_spec(top) is not None, f"{path.name}: {step.function}"
            checked += 1
    assert checked >= 5  # site-navigation's lookup and toolcall15's steps
