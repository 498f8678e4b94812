//! CI log analysis: finds, ranks and fingerprints the real failures in a log
