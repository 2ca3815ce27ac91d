"""Pushed headlines: subscriptions' filters and schedules, and the exactly-once push job."""
