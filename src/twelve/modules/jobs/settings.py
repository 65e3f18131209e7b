"""The jobs module's settings (`TWELVE_JOBS_*`): the queue, its workers and its limits."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class JobsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_JOBS_", extra="ignore")

    # Whether this process runs jobs. `twelve serve` does by default (one process does it all);
    # set it off where `twelve worker` processes do the work.
    worker: bool = True
    # Jobs one worker process runs at once.
    concurrency: int = Field(default=8, ge=1, le=256)
    # Past this many queued jobs, submissions are refused with 429 and Retry-After.
    max_queue_depth: int = Field(default=10_000, ge=1)
    # How often an idle worker looks for queued work.
    poll_seconds: float = Field(default=0.2, gt=0, le=10)
    # DBOS Transact's system database: a SQLite file in the data directory unless a URL is given
    # (`postgresql://…` for several machines).
    system_database_url: str | None = None
    # Connections DBOS keeps to its system database (PostgreSQL: count them per process).
    system_pool_size: int = Field(default=10, ge=2, le=200)
    # This worker's name for DBOS: a worker restarted under the same name resumes the jobs it had
    # in hand. Default: `serve`, or `worker-<n>` for `twelve worker`'s processes.
    executor_id: str | None = Field(default=None, max_length=100)
    # Results up to this size are inlined in the job; larger ones go to storage as a file.
    inline_result_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # Backoff between attempts: base * 2^(attempt-1), capped, with full jitter.
    backoff_base_seconds: float = Field(default=1.0, ge=0, le=3600)
    backoff_max_seconds: float = Field(default=300.0, ge=0, le=86400)
    # How long a job's credit hold lives (it waits in the queue, then runs all its attempts).
    hold_seconds: float = Field(default=7 * 86400, gt=0)
    # How often serving processes refresh the queue-depth metric and re-queue jobs whose
    # workflow was never started (a crash between the job row and the enqueue).
    reconcile_seconds: float = Field(default=5.0, gt=0, le=3600)
    # How often a worker says it is alive, and after how long without a word it is presumed
    # dead: the jobs it had in hand then go back to the queue for the other workers. Keep the
    # takeover well above any pause a live worker may have, or its jobs run twice.
    heartbeat_seconds: float = Field(default=5.0, gt=0, le=300)
    takeover_seconds: float = Field(default=60.0, gt=0, le=86400)
    # Networks a workflow's `http` step may reach although they are loopback or private (tests,
    # an intranet): comma-separated CIDRs. Empty: only public addresses.
    allow_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )
    # An `http` step's answer is read up to this many bytes.
    http_max_response_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    @model_validator(mode="after")
    def _takeover_after_heartbeats(self) -> JobsSettings:
        if self.takeover_seconds < 3 * self.heartbeat_seconds:
            raise ValueError(
                "TWELVE_JOBS_TAKEOVER_SECONDS must be at least three heartbeats "
                "(TWELVE_JOBS_HEARTBEAT_SECONDS): a live worker would be taken over"
            )
        return self

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip()]
        return value
