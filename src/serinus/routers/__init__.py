"""Traffic routers: the apex, primary and canary Services, and one traffic object per mesh."""
