#!/usr/bin/env python3
"""Checks request bodies coursegen sent against python-genai's pydantic types (issue 21, item 7).

We cannot reach the real Gemini API here, so Google's own SDK (`pip install google-genai`) is the
reference for every wire shape. Each file is one request as `fake-gemini --record-requests DIR`
wrote it: the request line (`POST /v1beta/models/M:generateContent`), a newline, then the body.

What a body may hold is taken from the installed SDK, not written down here:
- which fields go where: the keys its Gemini API (mldev) converters write, read from their source
  (`models._GenerateContentParameters_to_mldev` and `_GenerateContentConfig_to_mldev`: contents
  and generationConfig; systemInstruction and serviceTier beside them, on the top-level body;
  `batches.py`'s converters for `batch.inputConfig.requests.requests[].request` and `.metadata`);
- what each field is: the pydantic type (`types.Content`, `types.GenerationConfig`,
  `types.ThinkingConfig`, `types.ServiceTier`, ...), validated in strict mode, so `"1024"` is not
  an integer and `1` is not a boolean.

Besides what pydantic checks:
- an unknown field is refused at every level, naming the fields the type has. `_common.BaseModel`
  already says `extra='forbid'`; the check is done here as well, key by key, to name the field
  and the type, and because the top-level body and the batch wrapper have no pydantic type;
- the top-level body and the batch wrapper take the camelCase keys the SDK writes; inside a typed
  field (contents, generationConfig, ...) a field may be its camelCase alias (`thinkingBudget`)
  or its snake_case name (`thinking_budget`): proto JSON takes both, and the SDK itself sends
  thinkingConfig's fields in snake_case. The same field twice is refused;
- an enum value must be one of the enum's values exactly as the SDK sends them (`LOW`, `flex`):
  the SDK's `CaseInSensitiveEnum` lets other spellings, and any unknown value, through with a
  warning;
- null is refused: the SDK leaves out what is not set, and so should we.

Usage:
  check-request-shapes.py [--expect PATH=JSON]... [--expect-absent PATH]... FILE_OR_DIR...
  check-request-shapes.py --self-test

--expect and --expect-absent apply to every generation request (a generateContent body, or one
request inside a batch): `--expect generationConfig.thinkingConfig.thinkingLevel='"LOW"'`,
`--expect-absent generationConfig.temperature`. Exit status: 0 every body passed; 1 a body failed
(each failure names the file, the field and what is wrong); 2 the command line or a file could not
be read, or there was no body to check.
"""

from __future__ import annotations

import argparse
import enum
import inspect
import json
import re
import sys
import threading
import types as pytypes
import typing
import warnings
from dataclasses import dataclass
from pathlib import Path

try:
    import pydantic
    from google import genai
    from google.genai import batches as sdk_batches
    from google.genai import models as sdk_models
    from google.genai import types
except ImportError as error:
    sys.exit(f"check-request-shapes: python-genai is not installed ({error}): pip install google-genai")


@dataclass(frozen=True)
class ShapeError:
    """One thing wrong with a body: where (a dotted path into it, empty for the whole) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


# ---------------------------------------------------------------------------------------------
# Where the SDK puts each field: read from its converters.


def written_paths(converter) -> dict[str, set[tuple[str, ...]]]:
    """The key paths a python-genai converter writes, by target: `to_object` (what it returns)
    and `parent_object` (the object that holds what it returns). `_url` paths are the URL's."""
    source = inspect.getsource(converter)
    paths: dict[str, set[tuple[str, ...]]] = {"to_object": set(), "parent_object": set()}
    for target, inside in re.findall(r"setv\(\s*(to_object|parent_object)\s*,\s*\[([^\]]*)\]", source):
        path = tuple(re.findall(r"'(\w+)'", inside))
        if path and not path[0].startswith("_"):
            paths[target].add(path)
    if not paths["to_object"] and not paths["parent_object"]:
        raise SystemExit(f"check-request-shapes: found no field in {converter.__qualname__}: has python-genai changed?")
    return paths


def keys(paths: set[tuple[str, ...]], under: tuple[str, ...] = ()) -> set[str]:
    """The first keys below `under` among `paths`."""
    return {path[len(under)] for path in paths if len(path) > len(under) and path[: len(under)] == under}


# The REST type of each field a coursegen body may hold, by its key in the body. A field the SDK
# writes that is not here (tools, safetySettings, cachedContent, ...) is refused: coursegen sends
# none, and one it starts to send needs its type added here.
FIELD_TYPES: dict[str, object] = {
    "contents": list[types.Content],
    "systemInstruction": types.Content,
    "generationConfig": types.GenerationConfig,
    "serviceTier": types.ServiceTier,
    "model": str,
    "metadata": dict[str, str],
    "displayName": str,
    "fileName": str,
    "webhookConfig": types.WebhookConfig,
}


@dataclass(frozen=True)
class Shape:
    """An object whose keys are among `fields`, each a type from FIELD_TYPES, a nested Shape, or
    `Repeated(Shape)` for an array of them. `generation_config`: the keys its generationConfig may
    hold, those the SDK's Gemini API converter writes there (types.GenerationConfig also has
    Vertex-only ones, such as audioTimestamp)."""

    name: str
    fields: dict[str, object]
    generation_config: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    one_of: frozenset[str] = frozenset()
    # Fields the SDK writes here that FIELD_TYPES has no type for, named when one is refused.
    untyped: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Repeated:
    shape: Shape


def typed(names: set[str]) -> dict[str, object]:
    return {name: FIELD_TYPES[name] for name in sorted(names) if name in FIELD_TYPES}


def untyped(names: set[str]) -> frozenset[str]:
    return frozenset(names - FIELD_TYPES.keys())


def generate_shape() -> Shape:
    """The body of `generateContent` and `streamGenerateContent`."""
    parameters = written_paths(sdk_models._GenerateContentParameters_to_mldev)
    config = written_paths(sdk_models._GenerateContentConfig_to_mldev)
    top = keys(parameters["to_object"]) | keys(config["parent_object"])
    return Shape(
        "GenerateContentRequest",
        typed(top),
        generation_config=frozenset(keys(config["to_object"])),
        required=frozenset({"contents"}),
        untyped=untyped(top),
    )


def batch_shape() -> Shape:
    """The body of `models/M:batchGenerateContent` with inline requests (or a file)."""
    parameters = written_paths(sdk_batches._CreateBatchJobParameters_to_mldev)
    job_config = written_paths(sdk_batches._CreateBatchJobConfig_to_mldev)
    source = written_paths(sdk_batches._BatchJobSource_to_mldev)
    inlined = written_paths(sdk_batches._InlinedRequest_to_mldev)
    config = written_paths(sdk_batches._GenerateContentConfig_to_mldev)
    # _InlinedRequest_to_mldev hands `request` to the config converter as its parent.
    request_fields = keys(inlined["to_object"], ("request",)) | keys(config["parent_object"])
    request = Shape(
        "InlinedRequest.request",
        typed(request_fields),
        generation_config=frozenset(keys(config["to_object"])),
        required=frozenset({"contents"}),
        untyped=untyped(request_fields),
    )
    item = Shape(
        "InlinedRequest",
        {"request": request, **typed(keys(inlined["to_object"]) - {"request"})},
        required=frozenset({"request"}),
    )
    source_fields: dict[str, object] = typed(keys(source["to_object"]))
    if ("requests", "requests") not in source["to_object"]:
        raise SystemExit("check-request-shapes: batches.py no longer writes inputConfig.requests.requests")
    source_fields["requests"] = Shape("InlinedRequests", {"requests": Repeated(item)}, required=frozenset({"requests"}))
    input_config = Shape("InputConfig", source_fields, one_of=frozenset(source_fields))
    batch_paths = parameters["to_object"] | job_config["parent_object"]
    batch_fields: dict[str, object] = typed(keys(batch_paths, ("batch",)))
    if "inputConfig" not in keys(batch_paths, ("batch",)):
        raise SystemExit("check-request-shapes: batches.py no longer writes batch.inputConfig")
    batch_fields["inputConfig"] = input_config
    return Shape(
        "BatchGenerateContentRequest",
        {"batch": Shape("GenerateContentBatch", batch_fields, required=frozenset({"inputConfig"}))},
        required=frozenset({"batch"}),
    )


# ---------------------------------------------------------------------------------------------
# Checking a value against a pydantic type: keys and enums by walking, the rest by pydantic.


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def fields_by_key(
    model: type[pydantic.BaseModel], allowed: frozenset[str] | None = None
) -> dict[str, tuple[str, object]]:
    """A model's fields by alias and by name: (name, annotation); only the aliases in `allowed`
    when given."""
    table: dict[str, tuple[str, object]] = {}
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if allowed is not None and alias not in allowed:
            continue
        table[alias] = (name, info.annotation)
        table[name] = (name, info.annotation)
    return table


def walk(annotation, value, path: str, errors: list[ShapeError], allowed: frozenset[str] | None = None) -> None:
    """Refuses unknown fields, a field given twice, null, and an enum value the SDK would not
    send, anywhere inside `value` as a value of type `annotation`."""
    if value is None:
        errors.append(ShapeError(path, "null: leave the field out instead (the SDK never sends null)"))
        return
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, pytypes.UnionType):
        options = [option for option in typing.get_args(annotation) if option is not type(None)]
        if len(options) == 1:
            walk(options[0], value, path, errors, allowed)
        else:
            # A union (str or a model, say): walk into the one model an object can be.
            models = [
                option for option in options if isinstance(option, type) and issubclass(option, pydantic.BaseModel)
            ]
            if isinstance(value, dict) and len(models) == 1:
                walk(models[0], value, path, errors, allowed)
        return
    if origin is list:
        if isinstance(value, list):
            (item,) = typing.get_args(annotation)
            for index, element in enumerate(value):
                walk(item, element, f"{path}[{index}]", errors)
        return  # pydantic says what is wrong with a non-list
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        accepted = [member.value for member in annotation.__members__.values()]
        if isinstance(value, str) and value not in accepted:
            errors.append(
                ShapeError(
                    path,
                    f"{json.dumps(value)} is not a {annotation.__name__} value as the SDK sends it:"
                    f" one of {', '.join(accepted)}",
                )
            )
        return
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if not isinstance(value, dict):
            return  # pydantic says it
        table = fields_by_key(annotation, allowed)
        seen: dict[str, str] = {}
        for key, element in value.items():
            if key not in table:
                aliases = {info.alias or name for name, info in annotation.model_fields.items()}
                known = sorted(aliases & allowed if allowed is not None else aliases)
                errors.append(
                    ShapeError(join(path, key), f"unknown field: {annotation.__name__} has {', '.join(known)}")
                )
                continue
            name, field_annotation = table[key]
            if name in seen:
                errors.append(ShapeError(join(path, key), f"the same field as {seen[name]}, given twice"))
                continue
            seen[name] = key
            walk(field_annotation, element, join(path, key), errors)


def pydantic_errors(annotation, value, path: str) -> list[ShapeError]:
    """What pydantic's strict JSON validation of `value` as `annotation` refuses."""
    adapter = pydantic.TypeAdapter(annotation)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the SDK's warnings repeat what the walk found
            adapter.validate_json(json.dumps(value), strict=True)
    except pydantic.ValidationError as failure:
        found = []
        for error in failure.errors():
            if error["type"] == "extra_forbidden":
                continue  # the walk names the field and what its type has
            where = path
            for part in error["loc"]:
                where = f"{where}[{part}]" if isinstance(part, int) else join(where, str(part))
            found.append(ShapeError(where, f"{error['msg']} (got {json.dumps(error.get('input'))[:80]})"))
        return found
    return []


def check_shape(shape: Shape, value, path: str = "") -> list[ShapeError]:
    if not isinstance(value, dict):
        return [ShapeError(path, f"must be an object ({shape.name}), got {json_type(value)}")]
    errors: list[ShapeError] = []
    for key, element in value.items():
        where = join(path, key)
        if key not in shape.fields:
            also = ""
            if key in shape.untyped:
                also = " (python-genai puts it here, but coursegen sends none: add its type to FIELD_TYPES)"
            errors.append(ShapeError(where, f"unknown field: {shape.name} has {', '.join(sorted(shape.fields))}{also}"))
            continue
        kind = shape.fields[key]
        if isinstance(kind, Shape):
            errors += check_shape(kind, element, where)
        elif isinstance(kind, Repeated):
            if not isinstance(element, list):
                errors.append(ShapeError(where, f"must be an array of {kind.shape.name}, got {json_type(element)}"))
                continue
            for index, item in enumerate(element):
                errors += check_shape(kind.shape, item, f"{where}[{index}]")
        else:
            allowed = shape.generation_config if key == "generationConfig" else None
            found: list[ShapeError] = []
            walk(kind, element, where, found, allowed)
            # pydantic's own "extra fields not permitted" is the walk's unknown field, said worse.
            flagged = {error.path for error in found}
            found += [error for error in pydantic_errors(kind, element, where) if error.path not in flagged]
            errors += found
    for key in sorted(shape.required - value.keys()):
        errors.append(ShapeError(join(path, key), f"missing: {shape.name} needs it"))
    if shape.one_of and len(shape.one_of & value.keys()) != 1:
        errors.append(ShapeError(path, f"{shape.name} needs exactly one of {', '.join(sorted(shape.one_of))}"))
    return errors


# ---------------------------------------------------------------------------------------------
# Recorded requests.

GENERATE = generate_shape()
BATCH = batch_shape()

MODEL_CALL = re.compile(r"^/v1(beta)?/models/[^/:]+:(generateContent|streamGenerateContent|batchGenerateContent)$")
BATCH_CANCEL = re.compile(r"^/v1(beta)?/batches/[^/:]+:cancel$")


@dataclass
class Expectation:
    path: tuple[str, ...]
    value: object = None
    absent: bool = False

    def check(self, request: dict, where: str) -> ShapeError | None:
        node = request
        for key in self.path:
            if not isinstance(node, dict) or key not in node:
                if self.absent:
                    return None
                return ShapeError(join(where, ".".join(self.path)), f"missing: expected {json.dumps(self.value)}")
            node = node[key]
        if self.absent:
            return ShapeError(join(where, ".".join(self.path)), f"expected absent, got {json.dumps(node)}")
        if node != self.value or type(node) is not type(self.value):
            return ShapeError(
                join(where, ".".join(self.path)), f"expected {json.dumps(self.value)}, got {json.dumps(node)}"
            )
        return None


def parse_json(body: bytes):
    """The body as JSON, refusing what JSON does not allow (NaN) and a key given twice."""

    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                raise ValueError(f"the key {json.dumps(key)} is given twice in one object")
            seen[key] = value
        return seen

    def constant(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(body.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)


def dig(value, *keys: str):
    """The value at `keys` inside nested objects; None where one is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def check_request(
    method: str, target: str, body: bytes, expectations: list[Expectation]
) -> tuple[str, list[ShapeError]]:
    """Checks one request. Returns what it was (for the report) and what is wrong with it."""
    path = target.split("?", 1)[0]
    call = MODEL_CALL.match(path)
    if method in ("GET", "DELETE") or (method == "POST" and BATCH_CANCEL.match(path)):
        if body.strip() in (b"", b"{}"):
            return "no body", []
        return "no body", [ShapeError("", f"{method} {path} carries a body ({len(body)} bytes); it takes none")]
    if method != "POST" or not call:
        return "unknown", [ShapeError("", f"no shape known for {method} {path}: teach scripts/check-request-shapes.py")]
    try:
        value = parse_json(body)
    except (UnicodeDecodeError, ValueError) as error:
        return "not JSON", [ShapeError("", f"the body is not JSON: {error}")]
    if call.group(2) == "batchGenerateContent":
        errors = check_shape(BATCH, value)
        items = dig(value, "batch", "inputConfig", "requests", "requests")
        requests = [
            (f"batch.inputConfig.requests.requests[{index}].request", dig(item, "request"))
            for index, item in enumerate(items if isinstance(items, list) else [])
        ]
        kind = f"batch of {len(requests)}"
    else:
        errors = check_shape(GENERATE, value)
        requests = [("", value)]
        kind = "generation"
    for where, request in requests:
        if isinstance(request, dict):
            errors += [error for expectation in expectations if (error := expectation.check(request, where))]
    return kind, errors


def read_recording(file: Path) -> tuple[str, str, bytes]:
    data = file.read_bytes()
    line, _, body = data.partition(b"\n")
    method, _, target = line.decode("utf-8").partition(" ")
    if not method or not target:
        raise ValueError(f"{file}: the first line is not METHOD PATH: {line[:80]!r}")
    return method, target, body


def recording_files(arguments: list[str]) -> list[Path]:
    files: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            # Numbered in arrival order; sorted by number, whatever its width.
            files += sorted(path.glob("*.txt"), key=lambda file: (len(file.stem), file.stem))
        elif path.is_file():
            files.append(path)
        else:
            raise ValueError(f"{argument}: no such file or folder")
    return files


def check_files(arguments: list[str], expectations: list[Expectation]) -> int:
    try:
        files = recording_files(arguments)
        recordings = [(file, *read_recording(file)) for file in files]
    except (OSError, ValueError) as error:
        print(f"check-request-shapes: {error}", file=sys.stderr)
        return 2
    checked = failed = 0
    for file, method, target, body in recordings:
        kind, errors = check_request(method, target, body, expectations)
        if kind != "no body":
            checked += 1
        status = "FAIL" if errors else "pass"
        failed += bool(errors)
        print(f"{status} {file}: {method} {target} ({kind})")
        for error in errors:
            print(f"     {file}: {error}")
    print(
        f"check-request-shapes: {len(recordings)} requests, {checked} bodies checked against"
        f" google-genai {genai.__version__}, {failed} failed"
    )
    if checked == 0:
        print("check-request-shapes: FAIL: no request body to check", file=sys.stderr)
        return 2
    return 1 if failed else 0


def parse_expectation(text: str) -> Expectation:
    path, equals, value = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"{text}: write PATH=JSON, e.g. serviceTier='\"flex\"'")
    try:
        return Expectation(tuple(path.split(".")), json.loads(value))
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"{text}: the value is not JSON ({error})") from error


# ---------------------------------------------------------------------------------------------
# Self-test: what the SDK itself sends passes; each kind of mistake fails, naming its field.


def sdk_bodies() -> list[tuple[str, str, bytes]]:
    """Bodies python-genai itself sends, captured by a loopback server that answers 400."""
    from http.server import BaseHTTPRequestHandler, HTTPServer

    captured: list[tuple[str, str, bytes]] = []

    class Capture(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length", 0))
            captured.append(("POST", self.path, self.rfile.read(length)))
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"code": 400, "message": "captured", "status": "INVALID_ARGUMENT"}}')

        def log_message(self, *arguments):
            pass

    server = HTTPServer(("127.0.0.1", 0), Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    options = types.HttpOptions(
        base_url=f"http://127.0.0.1:{server.server_port}",
        api_version="v1beta",
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    client = genai.Client(api_key="self-test", http_options=options)
    gemini3 = types.GenerateContentConfig(
        system_instruction="You write course chapters.",
        max_output_tokens=8192,
        thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.LOW, include_thoughts=True),
        service_tier=types.ServiceTier.FLEX,
    )
    gemini25 = types.GenerateContentConfig(
        system_instruction="You write course chapters.",
        temperature=0.7,
        max_output_tokens=8192,
        thinking_config=types.ThinkingConfig(thinking_budget=1024),
    )
    calls = [
        lambda: client.models.generate_content(model="gemini-3.8-flash", contents="Chapter 1", config=gemini3),
        lambda: list(
            client.models.generate_content_stream(model="gemini-2.5-flash", contents="Chapter 1", config=gemini25)
        ),
        lambda: client.batches.create(
            model="gemini-3.8-flash",
            src=[types.InlinedRequest(contents="Chapter 1", metadata={"key": "ab12"}, config=gemini3)],
            config=types.CreateBatchJobConfig(display_name="coursegen"),
        ),
    ]
    try:
        for call in calls:
            try:
                call()
            except genai.errors.APIError:
                pass
    finally:
        server.shutdown()
    return captured


GOOD_GENERATE = {
    "systemInstruction": {"parts": [{"text": "You write course chapters."}]},
    "contents": [{"role": "user", "parts": [{"text": "Chapter 1"}]}],
    "generationConfig": {"maxOutputTokens": 8192, "thinkingConfig": {"thinkingLevel": "LOW", "includeThoughts": True}},
    "serviceTier": "flex",
}

# As the issue describes a batch job: inline requests, each keyed by its chapter's cache key in
# metadata, and no tier of their own (a batch is billed as a batch).
GOOD_BATCH = {
    "batch": {
        "displayName": "coursegen practical-rust",
        "inputConfig": {
            "requests": {
                "requests": [
                    {
                        "request": {key: value for key, value in GOOD_GENERATE.items() if key != "serviceTier"},
                        "metadata": {"key": "ab12"},
                    },
                ]
            }
        },
    }
}


def mutated(body: dict, path: str, value=None, delete: str | None = None) -> dict:
    """A deep copy of `body` with the value at dotted `path` (list indexes as numbers) set, or
    the key `delete` removed from the object there."""
    copy = json.loads(json.dumps(body))
    parts = [int(part) if part.isdigit() else part for part in path.split(".")] if path else []
    node = copy
    for part in parts[:-1] if delete is None else parts:
        node = node[part]
    if delete is not None:
        del node[delete]
    else:
        node[parts[-1]] = value
    return copy


GENERATE_PATH = "/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse"
BATCH_PATH = "/v1beta/models/gemini-3.8-flash:batchGenerateContent"
IN_BATCH = "batch.inputConfig.requests.requests.0.request"

G, B = GENERATE_PATH, BATCH_PATH
# (what is wrong, target, body, the field its failure must name, a word the failure must hold)
# fmt: off
BAD_BODIES = [
    ("a misspelled field", G, mutated(GOOD_GENERATE, "generationConfig", {"maxOutputToken": 8192}),
     "generationConfig.maxOutputToken", "unknown field"),
    ("thinkingBudget as a string", G,
     mutated(GOOD_GENERATE, "generationConfig.thinkingConfig", {"thinkingBudget": "1024"}),
     "generationConfig.thinkingConfig.thinkingBudget", "integer"),
    ("an unknown serviceTier", G, mutated(GOOD_GENERATE, "serviceTier", "flexible"), "serviceTier", "ServiceTier"),
    ("serviceTier spelt as the proto enum", G, mutated(GOOD_GENERATE, "serviceTier", "SERVICE_TIER_FLEX"),
     "serviceTier", "ServiceTier"),
    ("thinkingLevel in lowercase", G, mutated(GOOD_GENERATE, "generationConfig.thinkingConfig.thinkingLevel", "low"),
     "generationConfig.thinkingConfig.thinkingLevel", "ThinkingLevel"),
    ("an unknown top-level field", G, mutated(GOOD_GENERATE, "service_tier", "flex"), "service_tier", "unknown field"),
    ("serviceTier inside generationConfig", G, mutated(GOOD_GENERATE, "generationConfig.serviceTier", "flex"),
     "generationConfig.serviceTier", "unknown field"),
    ("a Vertex-only generationConfig field", G, mutated(GOOD_GENERATE, "generationConfig.audioTimestamp", True),
     "generationConfig.audioTimestamp", "unknown field"),
    ("a misspelled field in a part", G, mutated(GOOD_GENERATE, "contents.0.parts.0", {"txt": "x"}),
     "contents[0].parts[0].txt", "unknown field"),
    ("temperature as a string", G, mutated(GOOD_GENERATE, "generationConfig.temperature", "0.7"),
     "generationConfig.temperature", "number"),
    ("includeThoughts as a number", G,
     mutated(GOOD_GENERATE, "generationConfig.thinkingConfig.includeThoughts", 1),
     "generationConfig.thinkingConfig.includeThoughts", "boolean"),
    ("one field twice, in both spellings", G,
     mutated(GOOD_GENERATE, "generationConfig.thinkingConfig", {"thinkingBudget": 1, "thinking_budget": 2}),
     "generationConfig.thinkingConfig.thinking_budget", "twice"),
    ("a null", G, mutated(GOOD_GENERATE, "generationConfig.temperature", None), "generationConfig.temperature", "null"),
    ("contents as an object", G, mutated(GOOD_GENERATE, "contents", {"parts": []}), "contents", "array"),
    ("no contents", G, mutated(GOOD_GENERATE, "", delete="contents"), "contents", "missing"),
    ("a batch request not wrapped in request", B,
     mutated(GOOD_BATCH, "batch.inputConfig.requests.requests", [GOOD_GENERATE]),
     "batch.inputConfig.requests.requests[0].contents", "unknown field"),
    ("a batch's requests misnamed", B, mutated(GOOD_BATCH, "batch.inputConfig", {"inlinedRequests": {"requests": []}}),
     "batch.inputConfig.inlinedRequests", "unknown field"),
    ("a batch metadata value that is a number", B,
     mutated(GOOD_BATCH, "batch.inputConfig.requests.requests.0.metadata", {"position": 3}),
     "batch.inputConfig.requests.requests[0].metadata.position", "string"),
    ("a batch request with thinkingBudget as a string", B,
     mutated(GOOD_BATCH, f"{IN_BATCH}.generationConfig", {"thinkingConfig": {"thinkingBudget": "1024"}}),
     "batch.inputConfig.requests.requests[0].request.generationConfig.thinkingConfig.thinkingBudget", "integer"),
    ("a batch with both a file and inline requests", B, mutated(GOOD_BATCH, "batch.inputConfig.fileName", "files/abc"),
     "batch.inputConfig", "exactly one"),
]
# fmt: on


def self_test() -> int:
    failures = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")

    captured = sdk_bodies()
    report(len(captured) == 3, "python-genai sent its 3 bodies to the capture", f"{len(captured)} captured")
    for method, target, body in captured:
        kind, errors = check_request(method, target, body, [])
        report(not errors, f"python-genai's own {kind} body passes ({target})", "; ".join(map(str, errors)) or "passed")
    for name, target, body in [
        ("coursegen's generation body", GENERATE_PATH, GOOD_GENERATE),
        ("a batch body", BATCH_PATH, GOOD_BATCH),
    ]:
        _, errors = check_request("POST", target, json.dumps(body).encode(), [])
        report(not errors, f"{name} passes", "; ".join(map(str, errors)) or "passed")
    for what, target, body, field, word in BAD_BODIES:
        _, errors = check_request("POST", target, json.dumps(body).encode(), [])
        named = [error for error in errors if error.path == field and word.lower() in error.message.lower()]
        report(bool(named), f"{what} fails", "; ".join(map(str, errors)) or "PASSED, it should not")
    cases = [
        ("a body that is not JSON", b'{"contents": [', "not JSON"),
        ("a key given twice", b'{"contents": [], "contents": []}', "twice"),
        ("NaN", b'{"contents": [], "generationConfig": {"temperature": NaN}}', "not JSON"),
    ]
    for what, body, word in cases:
        _, errors = check_request("POST", GENERATE_PATH, body, [])
        report(any(word in str(error) for error in errors), f"{what} fails", "; ".join(map(str, errors)) or "PASSED")
    _, errors = check_request("POST", "/v1beta/models/m:countTokens", b"{}", [])
    report(bool(errors), "an endpoint the check does not know fails", "; ".join(map(str, errors)) or "PASSED")
    expect = [Expectation(("generationConfig", "thinkingConfig", "thinkingLevel"), "HIGH")]
    _, errors = check_request("POST", GENERATE_PATH, json.dumps(GOOD_GENERATE).encode(), expect)
    report(bool(errors), "an unmet --expect fails", "; ".join(map(str, errors)) or "PASSED")
    absent = [Expectation(("serviceTier",), absent=True)]
    _, errors = check_request("POST", GENERATE_PATH, json.dumps(GOOD_GENERATE).encode(), absent)
    report(bool(errors), "an unmet --expect-absent fails", "; ".join(map(str, errors)) or "PASSED")
    print(f"check-request-shapes self-test against google-genai {genai.__version__}: {failures} failed")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Check recorded Gemini request bodies against python-genai's pydantic types.",
        epilog="Exit status: 0 passed, 1 a body failed, 2 nothing to check or unreadable input.",
    )
    parser.add_argument("recordings", nargs="*", help="files or folders written by fake-gemini --record-requests")
    parser.add_argument("--self-test", action="store_true", help="show that good bodies pass and bad ones fail")
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        type=parse_expectation,
        metavar="PATH=JSON",
        help="every generation request has this value at PATH (dotted)",
    )
    parser.add_argument(
        "--expect-absent",
        action="append",
        default=[],
        metavar="PATH",
        help="no generation request has a value at PATH (dotted)",
    )
    arguments = parser.parse_args()
    if arguments.self_test:
        return self_test()
    if not arguments.recordings:
        parser.error("give recordings to check, or --self-test")
    expectations = arguments.expect + [
        Expectation(tuple(path.split(".")), absent=True) for path in arguments.expect_absent
    ]
    return check_files(arguments.recordings, expectations)


if __name__ == "__main__":
    sys.exit(main())
