#!/usr/bin/env python3
"""Checks coursegen's Batch API wire, and the fake's, against python-genai's own source.

  scripts/genai-batch-check.py --genai-src DIR [--bin .build/debug]

DIR is a checkout of googleapis/python-genai. Only its pydantic types (`types.py`) and its
request/response converters (`batches.py`) are used; its transport dependencies (httpx, anyio,
google-auth, ...) are stubbed, so pydantic is all this needs.

1. coursegen's create: `coursegen generate --batch` runs against a small recording server here;
   its `batchGenerateContent` body must have python-genai's shape (`batch.inputConfig.requests.
   requests[]` of `{request, metadata}`), each request's `contents`, `systemInstruction` and
   `generationConfig` must validate as python-genai's `Content` and `GenerationConfig` (unknown
   fields refused), and `metadata` as `InlinedRequest.metadata`.
2. The fake's jobs: python-genai's own create body (`_CreateBatchJobParameters_to_mldev`) is sent
   to `fake-gemini`, which must take it; its operations, read through `_BatchJob_from_mldev`, must
   validate as `BatchJob`, end in JOB_STATE_SUCCEEDED and hold one answer per request, with its
   metadata.
"""
import argparse, importlib.abc, importlib.machinery, json, os, subprocess, sys, tempfile, threading, time, types
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer
from unittest import mock

KEY = "fake-gemini-test-key"
MODEL = "gemini-3.8-flash"


class Stubs(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    roots = {"anyio", "httpx", "google.auth", "websockets", "tenacity", "requests", "aiohttp", "sniffio", "distro"}

    def find_spec(self, name, path, target=None):
        if any(name == root or name.startswith(root + ".") for root in self.roots):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = mock.MagicMock(name=spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def load_genai(source):
    # The stubs stand in for types pydantic cannot check (httpx's clients): it says so, harmlessly.
    warnings.filterwarnings("ignore")
    sys.path.insert(0, source)
    sys.meta_path.insert(0, Stubs())
    package = types.ModuleType("google.genai")
    package.__path__ = [os.path.join(source, "google", "genai")]
    sys.modules["google.genai"] = package
    import google.genai.batches as batches
    import google.genai.types as genai_types
    return genai_types, batches


def answer(text):
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 20}}


def check_coursegen(genai_types, binary):
    created = []

    class Recorder(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.startswith("/v1beta/batches/"):
                requests = created[0]["batch"]["inputConfig"]["requests"]["requests"]
                output = {"inlinedResponses": {"inlinedResponses": [
                    {"response": answer("chapter"), "metadata": entry.get("metadata")} for entry in requests]}}
                self.reply({"name": "batches/recorded", "done": True, "response": output,
                            "metadata": {"state": "BATCH_STATE_SUCCEEDED", "output": output}})
            else:
                self.reply({"name": "models/" + MODEL})

        def do_POST(self):
            created.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.reply({"name": "batches/recorded", "metadata": {"state": "BATCH_STATE_PENDING"}})

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as folder:
        outline = "# Check\n\nA course.\n" + "".join(f"\n## Chapter {n}\n- Point {n}\n" for n in range(1, 4))
        open(os.path.join(folder, "course.md"), "w").write(outline)
        environment = dict(os.environ, GEMINI_API_KEY=KEY, COURSEGEN_TEST_BATCH_POLL_SCALE="0.001")
        result = subprocess.run(
            [os.path.join(binary, "coursegen"), "generate", "course.md", "--output", "out", "--state", "state",
             "--base-url", f"http://127.0.0.1:{server.server_port}", "--model", MODEL, "--batch"],
            cwd=folder, env=environment, capture_output=True, text=True, timeout=120)
    server.shutdown()
    assert result.returncode == 0, result.stderr
    assert len(created) == 1, f"{len(created)} creates"
    body = created[0]
    assert set(body) == {"batch"}, set(body)
    assert set(body["batch"]) <= {"displayName", "inputConfig"}, set(body["batch"])
    entries = body["batch"]["inputConfig"]["requests"]["requests"]
    assert len(entries) == 3
    for entry in entries:
        assert set(entry) == {"request", "metadata"}, set(entry)
        genai_types.InlinedRequest(metadata=entry["metadata"])
        request = entry["request"]
        assert set(request) <= {"model", "contents", "systemInstruction", "generationConfig"}, set(request)
        for content in request["contents"] + [request["systemInstruction"]]:
            genai_types.Content.model_validate(content)
        genai_types.GenerationConfig.model_validate(request["generationConfig"])
    print("coursegen's create body: python-genai's shape, and its types validate each inline request")


def check_fake(genai_types, batches, binary):
    with tempfile.TemporaryDirectory() as folder:
        port_file = os.path.join(folder, "port")
        fake = subprocess.Popen([os.path.join(binary, "fake-gemini"), "--port", "0", "--port-file", port_file,
                                 "--batch-pending-seconds", "0.2", "--batch-running-seconds", "0.2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not os.path.exists(port_file):
                time.sleep(0.02)
            base = f"http://127.0.0.1:{open(port_file).read().strip()}/v1beta/"
            client = mock.MagicMock(vertexai=False)
            parameters = batches._CreateBatchJobParameters_to_mldev(client, {
                "model": MODEL,
                "src": {"inlined_requests": [
                    {"contents": [{"role": "user", "parts": [{"text": f"Write chapter {n}"}]}],
                     "metadata": {"key": f"chapter-{n}"},
                     "config": {"max_output_tokens": 1000}} for n in range(3)]},
                "config": {"display_name": "genai-check"},
            })
            parameters.pop("_url")

            def call(path, body=None):
                request = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                                 headers={"x-goog-api-key": KEY, "content-type": "application/json"})
                return json.load(urllib.request.urlopen(request))

            operation = call(f"models/{MODEL}:batchGenerateContent", parameters)
            states = []
            while True:
                job = genai_types.BatchJob.model_validate(batches._BatchJob_from_mldev(operation))
                states.append(job.state)
                if job.state in (genai_types.JobState.JOB_STATE_SUCCEEDED, genai_types.JobState.JOB_STATE_FAILED):
                    break
                time.sleep(0.05)
                operation = call(job.name)
        finally:
            fake.terminate()
            fake.wait()
    assert job.state == genai_types.JobState.JOB_STATE_SUCCEEDED, states
    assert genai_types.JobState.JOB_STATE_PENDING in states and genai_types.JobState.JOB_STATE_RUNNING in states, states
    responses = job.dest.inlined_responses
    assert [r.metadata for r in responses] == [{"key": f"chapter-{n}"} for n in range(3)]
    assert all(r.response.text for r in responses)
    print("fake-gemini takes python-genai's create body; its jobs validate as BatchJob: " + " -> ".join(s.value for s in dict.fromkeys(states)))


def main():
    arguments = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    arguments.add_argument("--genai-src", required=True, help="a checkout of googleapis/python-genai")
    arguments.add_argument("--bin", default=".build/debug", help="where coursegen and fake-gemini are built")
    options = arguments.parse_args()
    options.bin = os.path.abspath(options.bin)
    genai_types, batches = load_genai(options.genai_src)
    check_coursegen(genai_types, options.bin)
    check_fake(genai_types, batches, options.bin)


if __name__ == "__main__":
    main()
