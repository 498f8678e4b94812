//! Remedies: repairs that a failure's own message and the tested commit
//! make likely enough to try first, proposed without asking a model.
//!
//! A large share of red runs are a name that is not there: a rename that
//! missed a caller, an attribute renamed everywhere but one method, an
//! import of a misspelt name, a fixture renamed in `conftest.py`, an import
//! removed while the file still uses it. For these the evidence is in plain
//! sight, and a model (small ones especially) often fumbles what a rule gets
//! right at no cost. [`remedy_for`] reads the missing name from the message
//! ([`Missing`]) and looks for the name the code meant:
//!
//! - **renamed**: the tested commit changed lines in nothing but that name
//!   (`def compute_shipping` became `def shipping_cost`), so the code that
//!   still uses the old name is brought along;
//! - **removed import**: the commit removed the import that bound the name
//!   from the failing file, and nothing it added binds it again, so the
//!   import comes back;
//! - **moved module**: the commit renamed the file of the module that is
//!   not found, so the import names the module's new path;
//! - **near name**: the name Python's own "Did you mean" rule picks among
//!   the names that do exist where the code looked (the module, the class,
//!   the function and the module around it, the fixtures in reach).
//!
//! Where no name is missing, [`revert_for`] looks at what the tested commit
//! changed in the code the failure runs through (the lines a traceback
//! frame lands on, else the functions the failing test calls) and puts
//! those lines back as they were, keeping the rest of the commit, unless
//! the commit's own tests say the change is wanted (see `revert.rs`).
//!
//! The result is a change like any model's answer (a [`Diagnosis`] and
//! exact replacements): the repair loop checks, approves and validates it
//! in the sandbox like any other, so a wrong guess costs one sandbox run and
//! is told to the model. Only the code where the failure points is changed:
//! the enclosing function of the failing line, or the import statement.

mod commit;
mod diff;
mod near;
mod python;
mod revert;

use std::path::{Path, PathBuf};

use selfheal_git::CommitChange;
use selfheal_types::missing::Missing;
use selfheal_types::{Diagnosis, Failure};

use python::Use;
pub use revert::revert_for;

/// Which rule found the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Renamed,
    RemovedImport,
    MovedModule,
    NearName,
    Revert,
}

impl Rule {
    /// The name in records and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Renamed => "renamed-name",
            Rule::RemovedImport => "removed-import",
            Rule::MovedModule => "moved-module",
            Rule::NearName => "near-name",
            Rule::Revert => "revert",
        }
    }
}

/// One exact replacement: `old` occurs once in `file`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Replacement {
    pub file: String,
    pub old: String,
    pub new: String,
}

/// A remedy for one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remedy {
    pub rule: Rule,
    pub diagnosis: Diagnosis,
    pub edits: Vec<Replacement>,
}

impl Remedy {
    /// The fix in the JSON a model replies with, for the same patch planning.
    pub fn reply(&self) -> String {
        serde_json::json!({ "diagnosis": self.diagnosis, "edits": self.edits }).to_string()
    }
}

/// Python files looked at when searching for a module or a class.
const MAX_WALK_FILES: usize = 5000;
/// Directories never searched: caches, environments, vendored trees.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "__pycache__",
    "site-packages",
    "venv",
    "build",
    "dist",
    "target",
];
/// Python's builtins that a typo most often meant, for the near-name rule.
const BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "bool",
    "bytes",
    "dict",
    "enumerate",
    "Exception",
    "filter",
    "float",
    "getattr",
    "hasattr",
    "int",
    "isinstance",
    "KeyError",
    "len",
    "list",
    "map",
    "max",
    "min",
    "None",
    "open",
    "print",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "sorted",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "TypeError",
    "ValueError",
    "zip",
];

/// The remedy for `failure` in the tree at `root` (the failing commit,
/// whose own diff is `change` when known), or `None` when no rule is sure.
/// `workdir` is the folder the failing step ran in (`""`: the root), which
/// the log's relative paths start from.
pub fn remedy_for(
    root: &Path,
    workdir: &str,
    failure: &Failure,
    change: Option<&CommitChange>,
) -> Option<Remedy> {
    let missing = Missing::from_message(&failure.message)?;
    let name = missing.name();
    if !name.split('.').all(is_identifier) {
        return None;
    }
    let finder = Finder {
        root,
        workdir,
        failure,
        change,
        name,
    };
    match &missing {
        Missing::Fixture(_) => finder.fixture(),
        Missing::Name(_) => finder.undefined_name(),
        Missing::Attribute { class, .. } => finder.attribute(class),
        Missing::NameInModule { module, .. } => finder.name_in_module(module),
        Missing::Module(module) => finder.moved_module(module),
    }
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A line of a repository file where the failure points.
struct Site {
    path: String,
    text: String,
    /// 0-based.
    line: usize,
}

impl Site {
    fn lines(&self) -> Vec<&str> {
        self.text.lines().collect()
    }
}

struct Finder<'a> {
    root: &'a Path,
    workdir: &'a str,
    failure: &'a Failure,
    change: Option<&'a CommitChange>,
    name: &'a str,
}

impl Finder<'_> {
    /// The first location whose line uses the missing name as `kind`.
    fn site(&self, kind: Use) -> Option<Site> {
        self.site_where(|lines, line| python::uses(lines[line], self.name, kind))
    }

    /// The first location whose line `wanted` accepts (given the file's
    /// lines and the 0-based line).
    fn site_where(&self, wanted: impl Fn(&[&str], usize) -> bool) -> Option<Site> {
        self.failure.locations.iter().find_map(|loc| {
            let path = resolve(self.root, self.workdir, &loc.file)?;
            let text = std::fs::read_to_string(self.root.join(&path)).ok()?;
            let line = usize::try_from(loc.line?).ok()?.checked_sub(1)?;
            let lines: Vec<&str> = text.lines().collect();
            (line < lines.len() && wanted(&lines, line)).then_some(Site { path, text, line })
        })
    }

    /// The name the code meant among `exists`: the commit's new name for
    /// the missing one (when the commit renamed it, and the new name is
    /// there), else Python's suggestion.
    fn meant(&self, exists: &[String]) -> Option<(String, Evidence)> {
        if let Some((to, path)) = self
            .change
            .and_then(|c| commit::renamed_to(c, self.name))
            .filter(|(to, _)| exists.contains(to))
        {
            return Some((to, Evidence::Renamed { path }));
        }
        let near = near::suggest(self.name, exists.iter().map(String::as_str))?;
        Some((near.to_owned(), Evidence::Near))
    }

    /// The tested commit's short sha, for the diagnosis.
    fn commit(&self) -> &str {
        self.change.map_or("the tested commit", |c| {
            c.commit.get(..7).unwrap_or(c.commit.as_str())
        })
    }

    fn undefined_name(&self) -> Option<Remedy> {
        let site = self.site(Use::Bare)?;
        if let Some(import) = self
            .change
            .and_then(|c| commit::removed_import(c, &site.path, self.name))
        {
            return self.restore_import(&site, import.trim());
        }
        let lines = site.lines();
        let function = python::enclosing_function(&lines, site.line);
        let mut exists = python::module_names(&site.text);
        if let Some(def) = function {
            exists.extend(python::function_names(&lines, def));
        }
        exists.extend(BUILTINS.iter().map(|b| (*b).to_owned()));
        let (to, evidence) = self.meant(&exists)?;
        let edit = replace_in_scope(&site, function, self.name, &to, Use::Bare)?;
        Some(self.fix(&evidence, &to, vec![edit], &site.path))
    }

    fn attribute(&self, class: &str) -> Option<Remedy> {
        let site = self.site(Use::Attribute)?;
        let mut exists = python::class_attributes(&site.text, class);
        if exists.is_empty() {
            exists = python_files(self.root)
                .iter()
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .map(|text| python::class_attributes(&text, class))
                .find(|names| !names.is_empty())?;
        }
        let (to, evidence) = self.meant(&exists)?;
        let function = python::enclosing_function(&site.lines(), site.line);
        let edit = replace_in_scope(&site, function, self.name, &to, Use::Attribute)?;
        Some(self.fix(&evidence, &to, vec![edit], &site.path))
    }

    fn name_in_module(&self, module: &str) -> Option<Remedy> {
        let file = module_file(self.root, module)?;
        let exists = python::module_names(&std::fs::read_to_string(file).ok()?);
        let (to, evidence) = self.meant(&exists)?;
        if let Some(site) = self.site_where(|lines, line| {
            import_statement(lines, line).is_some_and(|(start, end)| {
                python::uses(&lines[start..=end].join("\n"), self.name, Use::Bare)
            })
        }) && let Some(edit) = alias_import(&site, self.name, &to)
        {
            let mut fix = self.fix(&evidence, &to, vec![edit], &site.path);
            fix.diagnosis.summary = format!("Import {to} as {}", self.name);
            return Some(fix);
        }
        let site = self.site(Use::Attribute)?;
        let function = python::enclosing_function(&site.lines(), site.line);
        let edit = replace_in_scope(&site, function, self.name, &to, Use::Attribute)?;
        Some(self.fix(&evidence, &to, vec![edit], &site.path))
    }

    fn fixture(&self) -> Option<Remedy> {
        let (test_file, function) = test_function(self.failure.test.as_deref()?)?;
        let path = resolve(self.root, self.workdir, test_file)?;
        let source = std::fs::read_to_string(self.root.join(&path)).ok()?;
        let def = source
            .lines()
            .position(|l| python::defined_name(l) == Some(function))?;
        let mut exists = python::fixtures(&source);
        let mut dir = Path::new(&path).parent();
        while let Some(d) = dir {
            if let Ok(conftest) = std::fs::read_to_string(self.root.join(d).join("conftest.py")) {
                exists.extend(python::fixtures(&conftest));
            }
            dir = d.parent();
        }
        let (to, evidence) = self.meant(&exists)?;
        let site = Site {
            path,
            text: source,
            line: def,
        };
        let edit = replace_in_scope(&site, Some(def), self.name, &to, Use::Bare)?;
        let mut fix = self.fix(&evidence, &to, vec![edit], &site.path);
        fix.diagnosis.summary = format!("Request the fixture {to} in {function}");
        Some(fix)
    }

    fn restore_import(&self, site: &Site, import: &str) -> Option<Remedy> {
        let lines = site.lines();
        // Before the first top-level import that is not `from __future__`.
        let anchor = lines.iter().position(|l| {
            python::indent(l) == 0
                && (l.starts_with("import ") || l.starts_with("from "))
                && !l.starts_with("from __future__")
        })?;
        let edit = unique_edit(site, anchor, anchor, |old| format!("{import}\n{old}"))?;
        let mut fix = self.fix(
            &Evidence::RemovedImport {
                line: import.to_owned(),
            },
            self.name,
            vec![edit],
            &site.path,
        );
        fix.diagnosis.summary = format!("Restore `{import}` in {}", site.path);
        Some(fix)
    }

    fn moved_module(&self, module: &str) -> Option<Remedy> {
        let (to, old_path, new_path) = commit::moved_module(self.change?, module)?;
        let site = self.site_where(|lines, line| imported_module(lines, line, module).is_some())?;
        let (start, end, written) = imported_module(&site.lines(), site.line, module)?;
        let new = if written.starts_with('.') {
            // A relative import stays relative, within the same package.
            let (old_parent, _) = module.rsplit_once('.')?;
            let (new_parent, new_last) = to.rsplit_once('.')?;
            if old_parent != new_parent {
                return None;
            }
            let (dots, _) = written.rsplit_once('.')?;
            format!("{dots}.{new_last}")
        } else {
            to.clone()
        };
        let edit = unique_edit(&site, start, end, |old| {
            replace_module(old, &written, &new).unwrap_or_else(|| old.to_owned())
        })?;
        let mut fix = self.fix(
            &Evidence::Moved { old_path, new_path },
            &to,
            vec![edit],
            &site.path,
        );
        fix.diagnosis.summary = format!("Import {to} in {} instead of {module}", site.path);
        Some(fix)
    }

    fn fix(&self, evidence: &Evidence, to: &str, edits: Vec<Replacement>, path: &str) -> Remedy {
        let name = self.name;
        let commit = self.commit();
        let (rule, why, summary) = match evidence {
            Evidence::Renamed { path: renamed_in } => (
                Rule::Renamed,
                format!(
                    "Commit {commit} renamed {name} to {to} ({renamed_in}), but {path} still uses the old name; the change brings it along where the failing code uses it."
                ),
                format!("Use {to}, the new name of {name}, in {path}"),
            ),
            Evidence::RemovedImport { line } => (
                Rule::RemovedImport,
                format!(
                    "Commit {commit} removed `{line}` from {path}, but the file still uses {name}; the change puts the import back."
                ),
                String::new(),
            ),
            Evidence::Moved { old_path, new_path } => (
                Rule::MovedModule,
                format!(
                    "Commit {commit} renamed {old_path} to {new_path}, but {path} still imports the module by its old name {name}; the import now names {to}."
                ),
                String::new(),
            ),
            Evidence::Near => (
                Rule::NearName,
                format!(
                    "{name} does not exist where the code looks for it, and {to} does: it is the name Python's own \"Did you mean\" rule picks; the change uses it where the failing code names {name}."
                ),
                format!("Use {to} instead of the undefined {name} in {path}"),
            ),
        };
        let test_is_wrong = is_test_path(path)
            .then(|| format!("The test names {name}, which does not exist; {why}"));
        Remedy {
            rule,
            diagnosis: Diagnosis {
                summary,
                root_cause: format!(
                    "The failure: {}. {why} (A remedy selfheal found without a model, validated like any change.)",
                    self.failure.message.trim().trim_end_matches('.')
                ),
                test_is_wrong,
            },
            edits,
        }
    }
}

enum Evidence {
    Renamed { path: String },
    Moved { old_path: String, new_path: String },
    RemovedImport { line: String },
    Near,
}

/// The file and the function of a pytest test id: `tests/test_x.py` and
/// `test_f` for `tests/test_x.py::TestK::test_f[param]`.
fn test_function(test: &str) -> Option<(&str, &str)> {
    let (file, rest) = test.split_once("::")?;
    Some((file, rest.rsplit("::").next()?.split('[').next()?))
}

/// Test code by pytest's naming: a `tests` directory, `test_*.py`,
/// `*_test.py`, `conftest.py`.
fn is_test_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|c| c == "tests" || c == "test")
        || file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
}

/// `raw` as a path relative to `root` that names a file: under `workdir`
/// or as it is, or with leading components dropped (a CI runner's or a
/// container's absolute path).
fn resolve(root: &Path, workdir: &str, raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return None;
    }
    let workdir = workdir.trim_matches('/');
    (0..parts.len()).find_map(|skip| {
        let rel = parts[skip..].join("/");
        if !workdir.is_empty() && !Path::new(raw).is_absolute() {
            let under = format!("{workdir}/{rel}");
            if root.join(&under).is_file() {
                return Some(under);
            }
        }
        root.join(&rel).is_file().then_some(rel)
    })
}

/// Every Python file under `root`, hidden and vendored directories skipped.
fn python_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_str()) {
                stack.push(entry.path());
            } else if kind.is_file() && Path::new(&name).extension().is_some_and(|e| e == "py") {
                out.push(entry.path());
                if out.len() >= MAX_WALK_FILES {
                    return out;
                }
            }
        }
    }
    out
}

/// The file of the dotted module `module` in the repository, by its path
/// (`a/b.py` or `a/b/__init__.py`, under any directory such as `src/`).
fn module_file(root: &Path, module: &str) -> Option<PathBuf> {
    if !module.split('.').all(is_identifier) {
        return None;
    }
    let base = module.replace('.', "/");
    let wanted = [format!("{base}.py"), format!("{base}/__init__.py")];
    python_files(root).into_iter().find(|p| {
        let rel = p
            .strip_prefix(root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/");
        wanted
            .iter()
            .any(|w| rel == *w || rel.ends_with(&format!("/{w}")))
    })
}

/// Lines `first..=last` of `site`'s file replaced by `rewrite` of them, as
/// an exact replacement whose `old` occurs once in the file (widened by a
/// line either side until it does, a few times at most).
fn unique_edit(
    site: &Site,
    first: usize,
    last: usize,
    rewrite: impl Fn(&str) -> String,
) -> Option<Replacement> {
    let lines = site.lines();
    let (mut first, mut last) = (first, last.min(lines.len().checked_sub(1)?));
    for _ in 0..4 {
        let old = lines[first..=last].join("\n");
        if site.text.matches(&old).count() == 1 {
            let new = rewrite(&old);
            return (new != old).then(|| Replacement {
                file: site.path.clone(),
                old,
                new,
            });
        }
        first = first.saturating_sub(1);
        last = (last + 1).min(lines.len() - 1);
    }
    None
}

/// Every `kind` use of `name` replaced by `to` in the function that starts
/// at line `function` (the site's line alone when it is at module level),
/// as one replacement spanning the first to the last changed line.
fn replace_in_scope(
    site: &Site,
    function: Option<usize>,
    name: &str,
    to: &str,
    kind: Use,
) -> Option<Replacement> {
    let lines = site.lines();
    let (start, end) = match function {
        Some(def) => (def, python::block_end(&lines, def)),
        None => (site.line, site.line),
    };
    let scope = lines[start..=end].join("\n");
    let renamed = python::replace_identifier(&scope, name, to, kind)?;
    let changed: Vec<usize> = scope
        .lines()
        .zip(renamed.lines())
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| start + i)
        .collect();
    let (first, last) = (*changed.first()?, *changed.last()?);
    unique_edit(site, first, last, |old| {
        python::replace_identifier(old, name, to, kind).unwrap_or_else(|| old.to_owned())
    })
}

/// The import statement starting at `line` when it imports the module
/// `module` so that only the statement names it: `from M import ...`
/// (also relative, `from .m import ...`, ending in the same name) or
/// `import M as N`. Its lines (0-based, inclusive) and `M` as written.
fn imported_module(lines: &[&str], line: usize, module: &str) -> Option<(usize, usize, String)> {
    let first = lines[line].trim_start();
    let written = if let Some(rest) = first.strip_prefix("from ") {
        let (written, _) = rest.split_once(" import")?;
        written.trim()
    } else {
        let rest = first.strip_prefix("import ")?;
        let (written, _) = rest.split_once(" as ")?;
        written.trim()
    };
    let matches = if let Some(relative) = written.strip_prefix('.') {
        let relative = relative.trim_start_matches('.');
        !relative.is_empty() && (module == relative || module.ends_with(&format!(".{relative}")))
    } else {
        written == module
    };
    if !matches {
        return None;
    }
    let end = import_statement(lines, line).map_or(line, |(_, end)| end);
    Some((line, end, written.to_owned()))
}

/// `statement` with the module `old` it imports named `new` instead.
fn replace_module(statement: &str, old: &str, new: &str) -> Option<String> {
    for (before, after) in [("from ", " import"), ("import ", " as ")] {
        let pattern = format!("{before}{old}{after}");
        if statement.contains(&pattern) {
            return Some(statement.replacen(&pattern, &format!("{before}{new}{after}"), 1));
        }
    }
    None
}

/// The lines (0-based, inclusive) of the `from ... import` statement that
/// starts at `line`, bracketed continuation lines included.
fn import_statement(lines: &[&str], line: usize) -> Option<(usize, usize)> {
    let first = lines[line].trim_start();
    if !(first.starts_with("from ") && first.contains(" import")) {
        return None;
    }
    let mut end = line;
    let mut open = python::bracket_depth(first);
    while open > 0 && end + 1 < lines.len() {
        end += 1;
        open += python::bracket_depth(lines[end]);
    }
    Some((line, end))
}

/// The import statement at the site (it may continue over bracketed lines)
/// with `name` imported as `to`, under its old name: `to as name`, or just
/// `to` where the statement already renames it with `as`.
fn alias_import(site: &Site, name: &str, to: &str) -> Option<Replacement> {
    let lines = site.lines();
    let (start, end) = import_statement(&lines, site.line)?;
    let statement = lines[start..=end].join("\n");
    let import_at = statement.find(" import")? + " import".len();
    let token = python::identifiers(&statement[import_at..])
        .into_iter()
        .find(|t| &statement[import_at..][t.range.clone()] == name)?;
    let at = import_at + token.range.start;
    let after = &statement[at + name.len()..];
    let aliased = after.trim_start().starts_with("as ");
    let replacement = if aliased {
        to.to_owned()
    } else {
        format!("{to} as {name}")
    };
    unique_edit(site, start, end, |old| {
        // `old` may have widened around the statement: find it again.
        let offset = old.find(&statement).unwrap_or(0);
        let at = offset + at;
        format!("{}{replacement}{}", &old[..at], &old[at + name.len()..])
    })
}

#[cfg(test)]
mod tests;
