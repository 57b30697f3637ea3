"""Hostile and broken input: every case is exit 1 with one-line located problems, never exit 3, and
no secret value, path or partial tree gets through. Each case was an exit 3 or a hole once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import lmcache_gitops as lg
from lmcache_gitops.build.secrets import credential_name, url_password
from lmcache_gitops.read.yamlio import MAX_DOCUMENTS

from .helpers import run

ENGINE = "apiVersion: lmcache.lmcache.ai/v1alpha1\nkind: LMCacheEngine\nmetadata: {name: e}\nspec:\n  l1: {sizeGB: 1}\n"
CB = (
    "apiVersion: lmcache.lmcache.ai/v1alpha1\nkind: CacheBlendEngine\nmetadata: {name: e}\nspec:\n  l1: {sizeGB: 1}\n"
    "  injection: {payloadImage: {repository: x}}\n"
)
OPTED_IN = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm}
spec:
  selector: {matchLabels: {app: v}}
  template:
    metadata:
      labels: {app: v, lmcache.ai/lmcache-inject: "true"}
      annotations: {lmcache.ai/lmcache-engine: e}
    spec:
      containers: [{name: vllm, image: vllm/vllm-openai, args: [m]}]
"""


def problems(*texts: str) -> list[str]:
    """Every problem of one file holding ``texts`` as its documents, as printed."""
    found = lg.validate([lg.Source("in.yaml", "---\n".join(texts))])
    lines = [str(problem) for problem in found]
    assert all("\n" not in line and line.startswith("in.yaml:") for line in lines), lines
    return lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENGINE + "  logLevel: !!int abc\n", 'in.yaml:6: spec.logLevel: "abc" is not a valid YAML int'),
        (ENGINE + "  logLevel: !!float x\n", '"x" is not a valid YAML float'),
        (ENGINE + "  logLevel: !!bool abc\n", '"abc" is not a valid YAML bool'),
        (ENGINE + "  logLevel: !!int ''\n", '"" is not a valid YAML int'),
        (ENGINE + "  logLevel: " + "9" * 5000 + "\n", "is not a valid YAML int"),
        ("a: {<<: {? [1]: 2}}\n", "a mapping merged with << must have plain scalar keys"),
        (ENGINE.replace("kind: LMCacheEngine", "kind: [x]"), "kind: Unsupported value"),
        (
            OPTED_IN.replace("kind: Deployment", "kind: {a: 1}"),
            "kind: must be a kind such as Deployment: a letter, then letters and digits, got a mapping",
        ),
        (OPTED_IN.replace("kind: Deployment", "kind: ../../"), "kind: must be a kind such as Deployment"),
        (OPTED_IN.replace("apiVersion: apps/v1", "apiVersion: ../v1"), "apiVersion: must be <group>/<version>"),
        (
            OPTED_IN.replace("  template:\n", "  template:\n    metadata: text\n", 1).replace(
                "    metadata:\n      labels", "    meta:\n      labels"
            ),
            "spec.template.metadata: must be a mapping, got string",
        ),
        (ENGINE + "  volumes: [null]\n", "spec.volumes[0]: must be a mapping, got null"),
        (ENGINE + "  volumeMounts: [null]\n", "spec.volumeMounts[0]: must be a mapping, got null"),
        (ENGINE + "  initContainers: [null]\n", "spec.initContainers[0]: must be a mapping, got null"),
        (CB.replace("x}}", "x}, env: [null]}"), "spec.injection.env[0]: must be a mapping, got null"),
        (
            ENGINE + "  l2Backend: {raw: {type: fs, config: {a: .inf}}}\n",
            "spec.l2Backend.raw.config.a: must be a finite number",
        ),
        (
            ENGINE + "  l2Backends: [{type: fs, config: {b: [.nan]}}]\n",
            "spec.l2Backends[0].config.b[0]: must be a finite number",
        ),
        (ENGINE + "  resourceOverrides: {requests: {memory: '1e999999999'}}\n", 'got "1e999999999"'),
        (
            ENGINE.replace("sizeGB: 1}", "sizeGB: 1000000000000}"),
            "spec.l1.sizeGB: must be less than 10737418240: the startup probe's failureThreshold",
        ),
        (ENGINE + '  podAnnotations: {"x\\ny": v}\n', 'spec.podAnnotations["x\\ny"]'),
        ("a: 1\nb: 2\nc: \x07\n", "in.yaml:3: invalid YAML: control characters are not allowed (U+0007)"),
    ],
)
def test_broken_input_is_a_located_one_line_problem(text: str, expected: str) -> None:
    assert any(expected in line for line in problems(text)), problems(text)


@pytest.mark.parametrize(
    "field", ["args", "containers", "env", "volumeMounts", "volumes", "imagePullSecrets", "initContainers"]
)
def test_a_null_item_in_an_opted_in_pod_template_is_reported(field: str) -> None:
    pod_lists = ("containers", "volumes", "imagePullSecrets", "initContainers")
    if field in pod_lists:
        workload = OPTED_IN.replace(
            "    spec:\n      containers:", f"    spec:\n      {field}: [null]\n      containers:"
        )
        if field == "containers":
            workload = OPTED_IN.replace("containers: [{name", "containers: [null, {name")
    else:
        workload = (
            OPTED_IN.replace("args: [m]}", f"args: [m], {field}: [null]}}")
            if field != "args"
            else OPTED_IN.replace("args: [m]", "args: [m, null]")
        )
    assert any("got null" in line for line in problems(ENGINE, workload))


def test_a_null_engine_annotation_is_reported() -> None:
    found = problems(ENGINE, OPTED_IN.replace("lmcache.ai/lmcache-engine: e", "lmcache.ai/lmcache-engine: null"))
    assert any("annotations[lmcache.ai/lmcache-engine]: must be a string, got null" in line for line in found), found


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("apiVersion: v1\nkind: List\nitems: []\nmetadata: {name: l}\n", "a List is not an object"),
        ("apiVersion: v1\nkind: SecretList\nitems: []\nmetadata: {name: l}\n", "a SecretList is not an object"),
        ("apiVersion: example.com/v1\nkind: Secret\nmetadata: {name: s}\n", "never writes secret material"),
        ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: n}\n", "is cluster-scoped"),
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n", "namespace is generated: set createNamespace"),
    ],
)
def test_kinds_that_would_smuggle_what_is_refused_are_refused(document: str, expected: str) -> None:
    assert any(expected in line for line in problems(document)), problems(document)


def test_two_objects_with_one_file_name_are_refused() -> None:
    first = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: a}\n"
    second = "apiVersion: example.com/v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: a}\n"
    [found] = problems(first, second)
    assert 'would be written as configmap.settings.yaml, the file of ConfigMap "settings"' in found
    clash = "apiVersion: example.com/v1\nkind: DaemonSet\nmetadata: {name: e}\n"
    assert any('the file of an object that LMCacheEngine "e" generates' in line for line in problems(ENGINE, clash))


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (
            "  l2Backend: {raw: {type: redis, config: {password: hunter2}}}\n",
            "spec.l2Backend.raw.config.password: password is a credential",
        ),
        ("  l2Backends: [{type: s3, config: {secret_access_key: x}}]\n", "secret_access_key is a credential"),
        ("  env: [{name: REDIS_PASSWORD, value: hunter2}]\n", "spec.env[0].value: REDIS_PASSWORD holds a credential"),
        ("  extraArgs: ['--key=AKIAIOSFODNN7EXAMPLE']\n", "spec.extraArgs[0]: looks like a secret (AWS Access Key)"),
        ("  podAnnotations: {a: 'redis://u:p4ss@h:6379'}\n", "spec.podAnnotations.a: holds a URL with a password"),
        ("  coordinator: {url: 'http://u:p4ss@c:9300'}\n", "spec.coordinator.url: holds a URL with a password"),
    ],
)
def test_secret_values_never_reach_the_tree(field: str, expected: str) -> None:
    found = problems(ENGINE + field)
    assert any(expected in line and "notSecrets" in line for line in found), found


def test_secret_values_in_workloads_are_found_too() -> None:
    workload = OPTED_IN.replace("args: [m]}", "args: [m], env: [{name: HF_TOKEN, value: hf_x}]}")
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {api_key: abc}\n"
    found = problems(ENGINE, workload, config)
    assert any("containers[0].env[0].value: HF_TOKEN holds a credential" in line for line in found)
    assert any("data.api_key: api_key is a credential" in line for line in found)


@pytest.mark.parametrize(
    ("key", "credential"),
    [("password", True), ("AUTH_TOKEN", True), ("secretKey", True), ("access_key_id", True), ("api-key", True),
     ("password_file", False), ("token_ttl", False), ("max_tokens", False), ("keyspace", False), ("bucket", False)],
)  # fmt: skip
def test_credential_names(key: str, credential: bool) -> None:
    assert credential_name(key) is credential


def test_not_secrets_clears_one_reviewed_field(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "e.yaml").write_text(
        ENGINE + "  env: [{name: A_TOKEN, value: t}, {name: B_TOKEN, value: t}]\n"
    )
    project = tmp_path / "lmcache-gitops.yaml"
    project.write_text(
        "environments: {dev: {namespace: dev}}\nnotSecrets:\n  LMCacheEngine/e: ['spec.env[0].value']\n  Deployment/x: []\n"
    )
    with pytest.raises(lg.InvalidInput) as err:
        lg.compile_project(project)
    assert [f"{p.line}: {p.path}" for p in err.value.problems] == [
        "4: notSecrets[Deployment/x]",
        "6: spec.env[1].value",
    ]


def test_inputs_are_bounded_and_only_regular_files(tmp_path: Path) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("---\n".join(["a: 1\n"] * (MAX_DOCUMENTS + 1)))
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * (16 * 2**20) + "\n")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(lg.InvalidInput) as err:
        lg.render_files([many, big, fifo])
    messages = sorted(p.message for p in err.value.problems)
    assert messages == [
        "is larger than 16 MiB, the most one input file may hold: split it",
        "is not a regular file (a FIFO, device or socket): give the files to read",
        f"more than {MAX_DOCUMENTS} documents in one file: split it",
    ]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("output: lmcache-gitops.yaml", "output: "),
        ('output: "a\\0b"', "output: must be a path of printable characters"),
        ("output: ../outside", "output: must be inside the project's folder"),
        ('specs: ["."]', "specs[0]: must be a glob of files"),
    ],
)
def test_project_settings_that_broke_the_compile(tmp_path: Path, setting: str, expected: str) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "e.yaml").write_text(ENGINE)
    (tmp_path / "lmcache-gitops.yaml").write_text(f"{setting}\nenvironments: {{dev: {{namespace: dev}}}}\n")
    result = run("compile", cwd=tmp_path)
    assert result.returncode == 1 and expected in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lmcache-gitops.yaml", "specs"]


def test_an_output_above_the_project_is_fine_inside_its_repository(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    project = tmp_path / "deploy" / "lmcache"
    (project / "specs").mkdir(parents=True)
    (project / "specs" / "e.yaml").write_text(ENGINE)
    (project / "lmcache-gitops.yaml").write_text("output: ../tree\nenvironments: {dev: {namespace: dev}}\n")
    assert run("compile", cwd=project).returncode == 1  # written: exit 1, as a hook must
    assert (tmp_path / "deploy" / "tree" / "overlays" / "dev" / "kustomization.yaml").exists()


def test_a_hand_edited_tree_file_that_is_not_yaml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "e.yaml").write_text(ENGINE)
    project = tmp_path / "lmcache-gitops.yaml"
    project.write_text("environments: {dev: {namespace: dev}}\n")
    lg.compile_project(project)
    edited = next((tmp_path / "bases" / "e").glob("daemonset.*.yaml"))
    edited.write_text(edited.read_text().splitlines()[0] + "\nx: !!int abc\n")
    result = run("compile", "--check", cwd=tmp_path)
    assert result.returncode == 1 and "(not a readable object)" in result.stdout, result.stdout + result.stderr


def test_a_workload_of_another_api_is_not_wired_but_reported() -> None:
    other = OPTED_IN.replace("apiVersion: apps/v1", "apiVersion: monitoring.coreos.com/v1")
    [found] = problems(ENGINE, other)
    assert "apiVersion: opts in to injection, but only the built-in Deployment (apps/v1)" in found


def test_a_glob_that_the_file_system_refuses_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "e.yaml").write_text(ENGINE)
    (tmp_path / "lmcache-gitops.yaml").write_text(f"specs: [{'x' * 300}]\nenvironments: {{dev: {{namespace: dev}}}}\n")
    result = run("compile", cwd=tmp_path)
    assert result.returncode == 1 and "specs[0]: must be a glob of files" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://user:p4ss@host:6379", True),
        ("see https://u:pw@x.example.com/a", True),
        ("http://host:8080/path@x", False),  # a port, not a password
        ("://u:p@h", False),  # no scheme
        ("${REDIS_URL}", False),
        ("a" * 50_000, False),  # one pass, however long (a fuzz case once took 17 s here)
        ("a" * 50_000 + "://u:p@h", True),
    ],
)
def test_a_url_password_is_found_in_one_pass(text: str, expected: bool) -> None:
    assert url_password(text) is expected
