"""A small cron-expression parser for the job scheduler."""

from .fields import Schedule, parse

__all__ = ["Schedule", "parse"]
