"""Durable jobs and timers in PostgreSQL: schedules (cron), delayed retries, deadlines.

Schedule with `uow.jobs.schedule(...)` inside the unit of work of the
change that wants the job; run them with `JobRunner`.
"""

from agentsuite_kit.jobs.repository import Job, JobRepository
from agentsuite_kit.jobs.runner import Handler, JobRunner
from agentsuite_kit.jobs.schedule import Backoff, Outcome, Slot, State

__all__ = ["Backoff", "Handler", "Job", "JobRepository", "JobRunner", "Outcome", "Slot", "State"]
