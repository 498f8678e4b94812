//! Proves a patch by running the project's tests in a locked-down Docker sandbox
