//! Turns model replies into edits, applies them to a tree and shows them as diffs
