"""The library a platform script imports: projects from data, validated changes, brief objects."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import pytest

import lmcache_gitops as lg

from .helpers import kustomize_build, resource, run, service, workload

SETTINGS = {"environments": {"prod": {"namespace": "llm"}}}


def _engine(**spec: Any) -> dict[str, Any]:
    return resource("LMCacheEngine", name="kv-cache", namespace=None, **spec)


def _vllm() -> dict[str, Any]:
    deployment = workload(engine="kv-cache")
    del deployment["metadata"]["namespace"]
    return deployment


def _messages(err: pytest.ExceptionInfo[lg.InvalidInput]) -> list[str]:
    return [str(problem) for problem in err.value.problems]


def test_a_project_from_data_renders_and_writes_like_one_from_files(tmp_path: Path) -> None:
    loaded = lg.project(SETTINGS, specs=[_engine()], workloads=[lg.to_yaml([_vllm()])])
    assert repr(loaded) == "<Project 1 environment, 1 resource, 1 workload>"
    report = loaded.write(tmp_path)
    assert not report.up_to_date and report.written
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert {p for p in written if not p.startswith(".lmcache-gitops/")} == set(loaded.tree())  # and its lock
    assert kustomize_build(tmp_path / "overlays" / "prod") == loaded.render("prod")
    assert loaded.write(tmp_path).up_to_date  # the same tree again: nothing to do


def test_problems_name_the_item_and_are_the_ones_the_cli_prints(tmp_path: Path) -> None:
    broken = _engine(**{"l1.sizeGB": 0, "server.port": 80})
    with pytest.raises(lg.InvalidInput) as err:
        lg.project(SETTINGS, specs=[broken])
    assert _messages(err) == [
        "specs[0]:7: spec.l1.sizeGB: must be greater than 0",
        "specs[0]:9: spec.server.port: must be in [1024, 65535]",
    ]
    (tmp_path / "specs[0]").write_text(lg.to_yaml([broken]))
    printed = run("validate", "specs[0]", cwd=tmp_path).stderr.splitlines()[:-1]
    assert printed == _messages(err)


def test_a_change_is_a_validated_copy(tmp_path: Path) -> None:
    loaded = lg.project(SETTINGS, specs=[_engine()])
    bigger = loaded.with_spec("kv-cache", {"l1": {"sizeGB": 120}, "logLevel": "DEBUG"})
    assert bigger.resources["kv-cache"].spec.l1.sizeGB == 120
    assert loaded.resources["kv-cache"].spec.l1.sizeGB == 10  # the original is unchanged
    assert bigger.with_spec("kv-cache", {"logLevel": None}).resources["kv-cache"].spec.logLevel == "INFO"
    with pytest.raises(lg.InvalidInput) as err:
        loaded.with_spec("kv-cache", {"l1": {"sizeGB": -5}})
    assert _messages(err) == ["specs[0]:7: spec.l1.sizeGB: must be greater than 0"]
    with pytest.raises(lg.InvalidInput) as err:
        loaded.with_spec("kv", {})
    assert _messages(err) == ['<with_spec>:1: no resource named "kv" (the project has kv-cache)']
    staged = loaded.with_environment("staging", {"namespace": "llm-staging"})
    assert staged.environments == ["prod", "staging"]
    assert staged.with_environment("staging", None).environments == ["prod"]
    with pytest.raises(lg.InvalidInput) as err:
        loaded.with_environment("qa", {"namespace": "QA"})
    assert _messages(err)[0].startswith("lmcache-gitops.yaml:5: environments.qa.namespace: must be a lowercase")


def test_a_router_and_its_services_from_data() -> None:
    router = resource("VllmRouter", name="router", namespace=None)
    services = [service(n, None) for n in ("vllm-prefill", "vllm-decode")]
    loaded = lg.project(SETTINGS, specs=[router], workloads=services)
    [deployment] = [o for o in loaded.render("prod") if o["kind"] == "Deployment"]
    assert (
        "http://vllm-prefill.llm.svc.cluster.local:8000"
        in deployment["spec"]["template"]["spec"]["containers"][0]["args"][0]
    )


def test_fields_read_by_their_yaml_names_and_model_copies_are_validated() -> None:
    spec = lg.project(SETTINGS, specs=[_engine()]).resources["kv-cache"].spec
    assert spec.l1.sizeGB == spec.l1.size_gb == 10
    assert spec.hostIPC is spec.host_ipc is True
    with pytest.raises(AttributeError):
        spec.sizeGb  # noqa: B018
    assert spec.l1.model_copy(update={"sizeGB": 7}).size_gb == 7
    with pytest.raises(lg.InvalidInput) as err:
        spec.l1.model_copy(update={"sizeGB": -5})
    assert _messages(err) == ["<L1BackendSpec.model_copy>:1: sizeGB: must be greater than 0"]


def test_objects_print_briefly() -> None:
    loaded = lg.project(SETTINGS, specs=[_engine()], workloads=[_vllm()])
    items = [loaded, loaded.build, *loaded.build.environments, *loaded.build.base.built, loaded.build.base]
    items += [item.resource for item in loaded.build.base.built] + loaded.build.base.workloads
    for item in items:
        assert len(repr(item)) < 120, repr(item)[:300]


def test_the_public_names_are_few_documented_and_typed() -> None:
    assert len(lg.__all__) <= 32
    for name in lg.__all__:
        assert hasattr(lg, name), name
        value = getattr(lg, name)
        if callable(value) and name != "__version__":
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"
    assert importlib.resources.files("lmcache_gitops").joinpath("py.typed").is_file()
