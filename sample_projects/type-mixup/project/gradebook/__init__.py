"""Course grade reports from the LMS score export."""
