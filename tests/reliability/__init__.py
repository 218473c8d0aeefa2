"""Reliability and security (issue 6): kill it, corrupt it, race it, feed it garbage."""
