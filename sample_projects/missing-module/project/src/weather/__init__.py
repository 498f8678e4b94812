"""Station readings and the one-line reports the weather bot posts."""
