"""No secret value reaches the tree: secret-looking values in the inputs, found and located.

Three rules of this product's own, and detect-secrets' pattern detectors (tokens and keys of
known services, private keys, JWTs, credentials in URLs) over every other string:

- a key named like a credential (`password`, `token`, `secret`, `access_key`, ...) with a value in
  an L2 adapter's config or a ConfigMap's data;
- an environment variable named like one (`*_PASSWORD`, `*_TOKEN`, `*_SECRET_KEY`, ...) with a
  literal `value`;
- a URL with a password in it (`redis://user:pass@host`).

detect-secrets' entropy and keyword detectors are left out: on configuration they flag model
names, digests and flags. A field the user has reviewed and cleared is listed under `notSecrets`
in the project file, by object and field path, so the decision is in review.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from itertools import pairwise
from typing import Any

from ..errors import FieldPath, Problem, format_path
from ..k8s.checks import leaves
from ..read.inputs import Inputs

NotSecrets = Mapping[str, Iterable[str]]  # "<kind>/<name>" -> field paths as problems print them

# detect-secrets' detectors of a known shape; see the module docstring for those left out.
DETECTORS = (
    "AWSKeyDetector", "ArtifactoryDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
    "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector", "JwtTokenDetector",
    "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector",
    "SendGridDetector", "SlackDetector", "SquareOAuthDetector", "StripeDetector",
    "TelegramBotTokenDetector", "TwilioKeyDetector",
)  # fmt: skip
_MIN_SCANNED = 8  # no detector matches a shorter string

_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_CREDENTIAL_WORDS = frozenset({"password", "passwd", "pwd", "secret", "token", "credential", "credentials"})
_CREDENTIAL_PAIRS = frozenset(
    {("access", "key"), ("api", "key"), ("private", "key"), ("secret", "key"), ("auth", "key")}
)
_NOT_A_VALUE = frozenset({"file", "path", "ref", "name", "env", "dir", "length", "ttl", "type"})
# Anchored on "://" (with a scheme character before it), so a long string costs one pass.
_URL_PASSWORD = re.compile(r"(?<=[A-Za-z0-9+.-])://[^\s/:@]*:([^\s/@]+)@")


def credential_name(key: str) -> bool:
    """Whether ``key`` names a credential: `password`, `AUTH_TOKEN`, `secretKey`, `access_key_id`
    (not `password_file`, `token_ttl`: those name where or how, not the value)."""
    words = [word.lower() for word in _WORDS.findall(key)]
    if not words or words[-1] in _NOT_A_VALUE:
        return False
    return bool(_CREDENTIAL_WORDS & set(words)) or any(pair in _CREDENTIAL_PAIRS for pair in pairwise(words))


def url_password(text: str) -> bool:
    return any(not match.group(1).startswith("$") for match in _URL_PASSWORD.finditer(text))


# Memos, each dropped whole when it grows past its bound (a miss only costs a scan): detect-secrets'
# verdict on each string, with those of the last compile (the compile cache keeps them, see
# files/cache.py), the strings asked about since, and each document's findings by its JSON.
_MEMO_BOUND = 2**16
_VERDICTS: dict[str, tuple[str, ...]] = {}
_ASKED: set[str] = set()
_FINDINGS: dict[str, tuple[tuple[FieldPath, str], ...]] = {}


def remember(verdicts: Mapping[str, Iterable[str]]) -> None:
    """Start a compile with the verdicts of the last (string -> the detectors that matched it)."""
    _VERDICTS.update((text, tuple(kinds)) for text, kinds in verdicts.items())
    _ASKED.clear()
    _FINDINGS.clear()  # so that every string is asked about again


def verdicts() -> dict[str, tuple[str, ...]]:
    """The verdict on every string asked about since ``remember``, for the next compile."""
    return {text: _VERDICTS[text] for text in sorted(_ASKED) if text in _VERDICTS}


def _bounded(memo: dict[str, Any] | set[str]) -> None:
    if len(memo) >= _MEMO_BOUND:
        memo.clear()


class _Detectors:
    """What detect-secrets' detectors take a string for; they are loaded (and configured for the
    ``with`` block that ``stack`` closes) at the first string no compile has seen."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.scan: Callable[[str], Iterable[Any]] | None = None

    def __call__(self, text: str) -> tuple[str, ...]:
        _bounded(_ASKED)
        _ASKED.add(text)
        found = _VERDICTS.get(text)
        if found is None:
            if self.scan is None:
                from detect_secrets.core.scan import scan_line
                from detect_secrets.settings import transient_settings

                self.stack.enter_context(transient_settings({"plugins_used": [{"name": n} for n in DETECTORS]}))
                self.scan = scan_line
            _bounded(_VERDICTS)
            found = _VERDICTS[text] = tuple(sorted({secret.type for secret in self.scan(text)}))
        return found


def _env_lists(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, list[Any]]]:
    """Every list under a key `env`: containers', a spec's, an injection's."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "env" and isinstance(item, list):
                yield (*path, key), item
            else:
                yield from _env_lists(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _env_lists(item, (*path, index))


def _config_maps(data: dict[str, Any]) -> Iterator[tuple[FieldPath, Any]]:
    """The free-form maps whose keys name settings: an L2 adapter's config, a ConfigMap's data."""
    if data.get("kind") == "ConfigMap":
        yield ("data",), data.get("data")
        return
    given = data.get("spec")
    spec: dict[str, Any] = given if isinstance(given, dict) else {}
    backend = spec.get("l2Backend")
    if isinstance(backend, dict) and isinstance(backend.get("raw"), dict):
        yield ("spec", "l2Backend", "raw", "config"), backend["raw"].get("config")
    for index, adapter in enumerate(spec.get("l2Backends") or ()):
        if isinstance(adapter, dict):
            yield ("spec", "l2Backends", index, "config"), adapter.get("config")


_FIX = "put it in a Secret and reference it ({how})"


def findings(data: dict[str, Any], detected: Callable[[str], tuple[str, ...]]) -> Iterator[tuple[FieldPath, str]]:
    """(path, why) of every value of one input document that looks like a secret."""
    flagged: set[FieldPath] = set()
    for path, config in _config_maps(data):
        for key, value in (config or {}).items() if isinstance(config, dict) else ():
            if isinstance(value, str) and value and credential_name(key):
                flagged.add((*path, key))
                how = "the engine's l2Backend.resp.authSecretRef, or the adapter's own file setting"
                yield (*path, key), f"{key} is a credential: " + _FIX.format(how=how)
    for path, env in _env_lists(data, ()):
        for index, variable in enumerate(env):
            if not isinstance(variable, dict) or not isinstance(variable.get("name"), str):
                continue
            value = variable.get("value")
            if isinstance(value, str) and value and credential_name(variable["name"]):
                flagged.add((*path, index, "value"))
                how = "valueFrom.secretKeyRef instead of value"
                yield (*path, index, "value"), f"{variable['name']} holds a credential: " + _FIX.format(how=how)
    for path, text in leaves(data):
        if (
            not isinstance(text, str)
            or path in flagged
            or len(text) < _MIN_SCANNED
            or path[:1] in (("apiVersion",), ("kind",))
        ):
            continue
        if url_password(text):
            yield (
                path,
                "holds a URL with a password: leave it out of the URL and pass it from a Secret (valueFrom.secretKeyRef)",
            )
        elif kinds := detected(text):
            yield path, f"looks like a secret ({', '.join(kinds)}): " + _FIX.format(how="valueFrom.secretKeyRef")


def _findings_of(text: str, detected: Callable[[str], tuple[str, ...]]) -> tuple[tuple[FieldPath, str], ...]:
    """``findings`` of a document given as JSON: the bases and every environment scan mostly the
    same documents, each once a process."""
    found = _FINDINGS.get(text)
    if found is None:
        _bounded(_FINDINGS)
        found = _FINDINGS[text] = tuple(findings(json.loads(text), detected))
    return found


def secret_problems(inputs: Inputs, not_secrets: NotSecrets) -> list[Problem]:
    """Every secret-looking value among ``inputs``, less the fields ``not_secrets`` clears."""
    problems = []
    documents = [(r.kind, r.name, r.document) for r in inputs.resources]
    documents += [(m.kind, m.name, m.document) for m in inputs.manifests]
    with ExitStack() as stack:
        detected = _Detectors(stack)
        for kind, name, document in documents:
            cleared = set(not_secrets.get(f"{kind}/{name}", ()))
            for path, why in _findings_of(json.dumps(document.data), detected):
                shown = format_path(path)
                if shown not in cleared:
                    hint = f'; if it is not, list "{shown}" under notSecrets["{kind}/{name}"] in lmcache-gitops.yaml'
                    problems.append(document.problem(path, why + hint))
    return problems
