//! Layered selfheal configuration: flags over SELFHEAL_* environment over selfheal.toml over defaults
