"""Signed webhook delivery (Standard Webhooks); filled in by the webhooks work."""
