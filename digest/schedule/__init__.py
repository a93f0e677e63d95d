"""The schedule: APScheduler jobs (fetch, deliver, housekeeping), one leader, every node sends."""

from digest.schedule.jobs import JobContext
from digest.schedule.leader import Leadership, leadership_for
from digest.schedule.scheduler import JOB_IDS, build_scheduler, next_runs
from digest.schedule.sender import Sender

__all__ = ["JOB_IDS", "JobContext", "Leadership", "Sender", "build_scheduler", "leadership_for",
           "next_runs"]
