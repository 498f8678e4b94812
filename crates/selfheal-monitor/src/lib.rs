//! Where failed runs come from: the CiProvider trait and the offline cache of run logs
