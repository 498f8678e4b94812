//! Git plumbing for repairs: isolated worktrees at the failing commit, fix branches and commits
