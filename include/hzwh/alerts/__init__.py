"""Alerts: built from breaches and data problems, recorded once per key, then delivered."""
