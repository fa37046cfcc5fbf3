"""Durable jobs and timers in PostgreSQL: schedules (cron), delayed retries, deadlines.

Schedule with `uow.jobs.schedule(...)` inside the unit of work of the
change that wants the job; run them with `JobRunner`.
"""

from agentsuite_kit.db.jobs import Job, JobRepository
from agentsuite_kit.jobs.runner import Handler, JobRunner
from agentsuite_kit.schedule import Backoff, Outcome, Slot, State

__all__ = ["Backoff", "Handler", "Job", "JobRepository", "JobRunner", "Outcome", "Slot", "State"]
