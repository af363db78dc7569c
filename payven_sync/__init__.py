"""payven_sync: the blocking facade over payven_async (work in progress, see issue 3)."""
