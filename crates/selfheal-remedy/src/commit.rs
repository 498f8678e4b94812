//! What the tested commit's diff says about a missing name: that the commit
//! renamed it (lines that differ only in that name), or that it removed the
//! import that bound it.

use selfheal_git::CommitChange;

use crate::diff::{self, Kind};
use crate::python::{Use, identifiers, import_bindings, replace_identifier};

/// The removed and added lines of each change block of each file's patch,
/// with the file's path.
fn blocks(change: &CommitChange) -> Vec<(&str, Vec<&str>, Vec<&str>)> {
    let mut out = Vec::new();
    for hunk in change.files.iter().flat_map(diff::hunks) {
        for block in diff::blocks(&hunk) {
            out.push((
                hunk.path,
                diff::lines_of(&hunk, &block, Kind::Removed),
                diff::lines_of(&hunk, &block, Kind::Added),
            ));
        }
    }
    out
}

/// What the commit renamed `name` to: the name that takes its place in
/// lines the commit changed and that differ from the old lines in nothing
/// else, with where it did so first. The name with the most such lines;
/// `None` when no line was changed that way.
pub(crate) fn renamed_to(change: &CommitChange, name: &str) -> Option<(String, String)> {
    let mut votes: Vec<(String, usize, String)> = Vec::new();
    for (path, removed, added) in blocks(change) {
        for old in removed.iter().filter(|l| mentions(l, name)) {
            for new in &added {
                let Some(to) = substitute(old, new, name) else {
                    continue;
                };
                match votes.iter_mut().find(|(n, _, _)| *n == to) {
                    Some(vote) => vote.1 += 1,
                    None => votes.push((to, 1, path.to_owned())),
                }
            }
        }
    }
    // The most lines; the first seen among equals.
    let best = votes.iter().map(|(_, n, _)| *n).max()?;
    votes
        .into_iter()
        .find(|(_, n, _)| *n == best)
        .map(|(to, _, path)| (to, path))
}

fn mentions(line: &str, name: &str) -> bool {
    identifiers(line)
        .iter()
        .any(|t| &line[t.range.clone()] == name)
}

/// The one identifier that `new` has where `old` has `name`, when
/// replacing `name` with it turns `old` into `new` exactly.
fn substitute(old: &str, new: &str, name: &str) -> Option<String> {
    let (a, b) = (identifiers(old), identifiers(new));
    if a.len() != b.len() {
        return None;
    }
    let mut to: Option<&str> = None;
    for (x, y) in a.iter().zip(&b) {
        let (x, y) = (&old[x.range.clone()], &new[y.range.clone()]);
        if x == y {
            continue;
        }
        if x != name || to.is_some_and(|t| t != y) {
            return None;
        }
        to = Some(y);
    }
    let to = to?;
    let uses = [Use::Bare, Use::Attribute];
    let mut renamed = old.to_owned();
    for kind in uses {
        if let Some(r) = replace_identifier(&renamed, name, to, kind) {
            renamed = r;
        }
    }
    (renamed == new).then(|| to.to_owned())
}

/// The import line the commit removed from `path` that bound `name`, when
/// no line it added binds it again.
pub(crate) fn removed_import(change: &CommitChange, path: &str, name: &str) -> Option<String> {
    let binds = |line: &&&str| import_bindings(line).is_some_and(|b| b.iter().any(|n| n == name));
    let mut found = None;
    for (file, removed, added) in blocks(change) {
        if file != path {
            continue;
        }
        if added.iter().any(|l| binds(&l)) {
            return None;
        }
        if found.is_none() {
            found = removed.iter().find(binds).map(|l| (*l).to_owned());
        }
    }
    found
}

/// The dotted module a Python file is (`src/weather/units.py` is
/// `src.weather.units`; a package's `__init__.py` is the package).
fn module_of(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".py")?;
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    Some(stem.replace('/', "."))
}

/// Where the commit moved the module `module` (dotted, as the code imports
/// it): the new dotted name under the same root (`weather.units` in
/// `src/weather/units.py`, renamed to `src/weather/conversions.py`, is now
/// `weather.conversions`), with the old and new paths.
pub(crate) fn moved_module(
    change: &CommitChange,
    module: &str,
) -> Option<(String, String, String)> {
    change.files.iter().find_map(|file| {
        let old_path = file.renamed_from.as_deref()?;
        let old = module_of(old_path)?;
        let new = module_of(&file.path)?;
        // What the import leaves out of the path (`src.`), dot included.
        let prefix = old.strip_suffix(module)?;
        if !(prefix.is_empty() || prefix.ends_with('.')) {
            return None;
        }
        let moved = new.strip_prefix(prefix)?;
        (!moved.is_empty() && moved != module)
            .then(|| (moved.to_owned(), old_path.to_owned(), file.path.clone()))
    })
}

#[cfg(test)]
mod tests {
    use selfheal_git::FileChange;

    use super::*;

    fn change(files: &[(&str, &str)]) -> CommitChange {
        CommitChange {
            commit: "abc1234".into(),
            parent: "0000000".into(),
            subject: "A change".into(),
            files: files
                .iter()
                .map(|(path, patch)| FileChange {
                    path: (*path).into(),
                    renamed_from: None,
                    patch: (*patch).into(),
                    omitted: None,
                    added: 0,
                    removed: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn a_rename_is_lines_that_differ_only_in_the_name() {
        let c = change(&[
            (
                "src/shop/shipping.py",
                "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -16,5 +16,5 @@\n \n-def compute_shipping(weight_kg: float, zone: str) -> int:\n+def shipping_cost(weight_kg: float, zone: str) -> int:\n     \"\"\"Doc.\"\"\"\n",
            ),
            (
                "tests/test_shipping.py",
                "@@ -1,5 +1,5 @@\n-from shop.shipping import compute_shipping\n+from shop.shipping import shipping_cost\n \n-    assert compute_shipping(1, 'eu') == 3\n-    x = compute_shipping(2, 'eu') + 1\n+    assert shipping_cost(1, 'eu') == 3\n+    x = shipping_cost(2, 'eu') + 2\n",
            ),
        ]);
        assert_eq!(
            renamed_to(&c, "compute_shipping"),
            Some(("shipping_cost".into(), "src/shop/shipping.py".into()))
        );
        // A line that changed more than the name is no evidence.
        let other = change(&[(
            "a.py",
            "@@ -1 +1 @@\n-    x = compute_shipping(2)\n+    x = shipping_cost(3)\n",
        )]);
        assert_eq!(renamed_to(&other, "compute_shipping"), None);
        // Nor is a line that keeps the name.
        let kept = change(&[(
            "a.py",
            "@@ -1 +1 @@\n-    self._items = []\n+    self._items = {}\n",
        )]);
        assert_eq!(renamed_to(&kept, "_items"), None);
    }

    #[test]
    fn the_most_evidence_wins() {
        let c = change(&[(
            "inventory/stock.py",
            "@@ -1,9 +1,9 @@\n-        self._items = {}\n+        self._store = {}\n \n-        return self._items[sku]\n+        return self._lines[sku]\n-        del self._items[sku]\n+        del self._lines[sku]\n",
        )]);
        assert_eq!(
            renamed_to(&c, "_items").map(|(to, _)| to),
            Some("_lines".into())
        );
    }

    #[test]
    fn a_module_moved_under_the_same_root() {
        let mut c = change(&[("src/weather/conversions.py", "")]);
        c.files[0].renamed_from = Some("src/weather/units.py".into());
        assert_eq!(
            moved_module(&c, "weather.units"),
            Some((
                "weather.conversions".into(),
                "src/weather/units.py".into(),
                "src/weather/conversions.py".into()
            ))
        );
        assert_eq!(
            moved_module(&c, "src.weather.units").map(|m| m.0),
            Some("src.weather.conversions".into())
        );
        assert_eq!(
            moved_module(&c, "units").map(|m| m.0),
            Some("conversions".into())
        );
        assert_eq!(
            moved_module(&c, "eather.units"),
            None,
            "whole components only"
        );
        assert_eq!(moved_module(&c, "other.units"), None);
        let mut package = change(&[("lib/geo/__init__.py", "")]);
        package.files[0].renamed_from = Some("lib/geom/__init__.py".into());
        assert_eq!(
            moved_module(&package, "geom").map(|m| m.0),
            Some("geo".into())
        );
    }

    #[test]
    fn a_removed_import_that_nothing_added_binds_again() {
        let c = change(&[(
            "src/geo/sphere.py",
            "@@ -1,3 +1,3 @@\n-import math\n+from math import asin, cos\n",
        )]);
        assert_eq!(
            removed_import(&c, "src/geo/sphere.py", "math").as_deref(),
            Some("import math")
        );
        assert_eq!(removed_import(&c, "src/geo/other.py", "math"), None);
        let moved = change(&[(
            "a.py",
            "@@ -1,3 +1,3 @@\n-import math\n+import os\n@@ -9 +9 @@\n+import math\n",
        )]);
        assert_eq!(removed_import(&moved, "a.py", "math"), None);
    }
}
