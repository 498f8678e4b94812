"""Checkout totals for the storefront: items, shipping and free-shipping rules."""
