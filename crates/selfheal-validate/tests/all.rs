//! Integration tests: the Docker sandbox against the real engine and image.
mod suite;
