"""Helpline: omnichannel customer-service desk."""
