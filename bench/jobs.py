"""Jobs per second through the queue: submitted over HTTP, run by DBOS workers through the gateway's
pipeline against the fake upstream, until every job has ended.

    python -m bench.jobs [--jobs 500] [--workers 0] [--concurrency 16] [--submitters 8]

It starts the fake upstream and `twelve serve` (its in-process worker) on a fresh data directory
(SQLite, the embedded default), plus `--workers` `twelve worker` processes, makes a customer and
a key through the admin API, submits `--jobs` chat jobs from `--submitters` concurrent clients,
and polls the jobs list until all have ended. It prints the submission rate (202s per second),
the throughput (jobs ended per second, first submission to last end) and the latency from
submission to end (p50, p95), and writes them to bench/results/jobs-<date>.json. A benchmark,
not a test: it exits 1 only if a job did not succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procs import Service, free_port

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "twadmin-bench-" + secrets.token_hex(16)
CONFIG = """models:
  - name: mock-gpt
    deployments:
      - provider: openai
        base_url: http://127.0.0.1:{port}/v1
        api_key: sk-bench-upstream
        model: mock-gpt
        timeout: 30
"""


async def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"bench: {url} did not answer in {seconds:g} s")


async def submit(client: httpx.AsyncClient, n: int) -> tuple[str, float]:
    body = {
        "task_type": "chat_completion",
        "parameters": {
            "model": "mock-gpt",
            "messages": [{"role": "user", "content": f"job {n}"}],
            "max_tokens": 16,
        },
    }
    sent = time.time()
    answer = await client.post("/v1/jobs", json=body)
    if answer.status_code != 202:
        raise SystemExit(f"bench: submission refused: {answer.status_code} {answer.text}")
    return answer.json()["id"], sent


async def run(args: argparse.Namespace, work: Path) -> dict[str, object]:
    up_port, port = free_port(), free_port()
    config = work / "twelve.yaml"
    config.write_text(CONFIG.format(port=up_port), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWELVE_", "OTEL_"))} | {
        "TWELVE_CONFIG": str(config),
        "TWELVE_DATA_DIR": str(work / "data"),
        "TWELVE_ADMIN_KEY": ADMIN_KEY,
        "TWELVE_SIDECAR": "off",
        "TWELVE_LOG_LEVEL": "WARNING",
        "TWELVE_JOBS_CONCURRENCY": str(args.concurrency),
        "TWELVE_JOBS_POLL_SECONDS": "0.05",
        "TWELVE_JOBS_MAX_QUEUE_DEPTH": str(max(args.jobs * 2, 10_000)),
    }
    python, twelve = sys.executable, str(Path(sys.executable).parent / "twelve")
    services = [
        Service.start(
            "upstream",
            [python, "-m", "tests.fakes.upstream", "--host", "127.0.0.1", "--port", str(up_port)],
            log_path=work / "upstream.log", cwd=ROOT, env=env,
        ),
    ]  # fmt: skip
    try:
        await wait_http(f"http://127.0.0.1:{up_port}/v1/models")
        services.append(
            Service.start(
                "twelve",
                [twelve, "serve", "--host", "127.0.0.1", "--port", str(port)],
                log_path=work / "twelve.log",
                cwd=ROOT,
                env=env,
            )
        )
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/readyz")
        for n in range(args.workers):
            services.append(
                Service.start(
                    f"worker-{n}",
                    [twelve, "worker", "--name", f"bench-{n}"],
                    log_path=work / f"worker-{n}.log",
                    cwd=ROOT,
                    env=env,
                )
            )
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(base_url=f"{base}/admin/v1", headers=admin) as c:
            await c.post("/customers", json={"name": "bench"})
            key = (await c.post("/keys", json={"customer_id": "bench"})).json()["key"]
        limits = httpx.Limits(max_connections=args.submitters)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            base_url=base, headers=headers, limits=limits, timeout=60
        ) as client:
            queue = iter(range(args.jobs))
            submitted: dict[str, float] = {}
            started = time.time()

            async def submitter() -> None:
                for n in queue:
                    job_id, sent = await submit(client, n)
                    submitted[job_id] = sent

            await asyncio.gather(*(submitter() for _ in range(args.submitters)))
            submit_seconds = time.time() - started
            ended = await wait_ended(client, set(submitted), args.timeout)
            finished = max(job["finished_at"] for job in ended.values())
    finally:
        for service in reversed(services):
            service.process.terminate()
        for service in services:
            try:
                service.process.wait(20)
            except Exception:
                service.process.kill()
    failed = [j for j in ended.values() if j["status"] != "succeeded"]
    # End times are whole seconds (the job's `finished_at`): throughput spans at least that.
    latencies = sorted(ended[i]["finished_at"] - sent for i, sent in submitted.items())
    total = max(finished - started, 1.0)
    return {
        "jobs": args.jobs,
        "workers": f"in-process + {args.workers} `twelve worker`",
        "concurrency_per_worker": args.concurrency,
        "submitted_per_second": round(args.jobs / submit_seconds, 1),
        "ended_per_second": round(args.jobs / total, 1),
        "latency_p50_seconds": round(statistics.median(latencies), 2),
        "latency_p95_seconds": round(latencies[int(len(latencies) * 0.95) - 1], 2),
        "failed": len(failed),
    }


async def wait_ended(
    client: httpx.AsyncClient, ids: set[str], seconds: float
) -> dict[str, dict[str, object]]:
    deadline = time.monotonic() + seconds
    ended: dict[str, dict[str, object]] = {}
    while time.monotonic() < deadline:
        for status in ("succeeded", "failed", "dead", "cancelled"):
            after = None
            while True:
                params: dict[str, object] = {"status": status, "limit": 100}
                if after:
                    params["after"] = after
                page = (await client.get("/v1/jobs", params=params)).json()
                ended.update({j["id"]: j for j in page["data"] if j["id"] in ids})
                if not page["has_more"]:
                    break
                after = page["last_id"]
        if len(ended) == len(ids):
            return ended
        await asyncio.sleep(0.25)
    raise SystemExit(f"bench: {len(ids) - len(ended)} jobs still open after {seconds:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--workers", type=int, default=0, help="`twelve worker` processes")
    parser.add_argument("--concurrency", type=int, default=16, help="jobs at once per worker")
    parser.add_argument("--submitters", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="twelve-bench-jobs-") as tmp:
        try:
            figures = asyncio.run(run(args, Path(tmp)))
        except SystemExit:
            for log in sorted(Path(tmp).glob("*.log")):
                print(
                    f"--- {log.name}\n" + log.read_text(errors="replace")[-2000:], file=sys.stderr
                )
            raise
    for name, value in figures.items():
        print(f"{name:>26}: {value}")
    out = ROOT / "bench" / "results" / f"jobs-{time.strftime('%Y-%m-%d')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")
    sys.exit(1 if figures["failed"] else 0)


if __name__ == "__main__":
    main()
