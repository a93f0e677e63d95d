"""The schedule: the leader's APScheduler over the jobs it is handed, and leadership.

What the jobs do is the use cases' business (``digest.app.scheduled_jobs``); which process
leads is the leader lock's (``store.leader_lock``); the service (``digest.service``) wires
them together.
"""
