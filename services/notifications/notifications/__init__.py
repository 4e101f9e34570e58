"""Notifications: tells patients when a free card is issued or changes and when they were overcharged."""
