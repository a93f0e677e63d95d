"""The use cases: what digest does, one module each, over the parts the composition root
(``digest.runtime``) builds — fetch, plan, deliver, preview, rank, subscriptions, notices,
inbound mail, subscriber files and list management, status, and the service's scheduled
jobs and send loop. Faces (``cli``, ``web``) call these; these call the edges and the core.
"""
