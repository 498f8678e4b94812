//! The failing CI step as the workflow file defines it.
//!
//! The analyser knows a failure's job and step only by the names the log shows
//! (`<job>/<n>_<step>.txt` in a run-log zip, or a `##[group]Run …` header).
//! To validate a patch "the way CI ran it", selfheal needs what the workflow
//! file says about that step: its script, its `working-directory` (monorepos)
//! and its `env:`. [`find_ci_step`] finds the step in the failing commit's
//! `.github/workflows/*.yml|*.yaml` and takes over only what it can take over
//! faithfully; everything else is named, one line each, in
//! [`CiStep::unresolved`], so the caller decides whether to fall back to
//! detected commands. The log's own text is never used as a command.
//!
//! Workflow files come from the repository being repaired, so reading them is
//! lenient and bounded: a file over [`WORKFLOW_MAX_BYTES`], a symlink, a file
//! that is not UTF-8 or not YAML is skipped with a warning, never an error.
//! Environment values that use `${{ }}` expressions (`secrets.*` among them)
//! are never copied: the sandbox cannot evaluate them, and a secret must not
//! leave CI.

use std::fmt;
use std::path::{Component, Path};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::plan::shell_quote;

/// Workflow files larger than this are skipped (GitHub's own are far smaller;
/// a bigger one is generated or hostile).
pub const WORKFLOW_MAX_BYTES: u64 = 1024 * 1024;

/// Where GitHub reads workflows from, relative to the repository root; it
/// does not look in subfolders, and neither does selfheal.
pub const WORKFLOWS_DIR: &str = ".github/workflows";

/// Commands that install a project's dependencies, as the first words of a
/// script line. `apt-get install` and anything under `sudo` are left out: a
/// sandbox user has no root.
const INSTALL_PREFIXES: &[&str] = &[
    "pip install",
    "pip3 install",
    "python -m pip install",
    "python3 -m pip install",
    "poetry install",
    "uv sync",
    "uv pip install",
    "npm ci",
    "npm install",
    "yarn install",
    "pnpm install",
    "cargo fetch",
    "go mod download",
    "bundle install",
];

/// One step of a GitHub Actions workflow, as CI ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiStep {
    /// Repo-relative path of the workflow file (`.github/workflows/ci.yml`).
    pub workflow: String,
    /// The job's id (its key under `jobs:`), whatever name the log showed.
    pub job: String,
    /// The step's display name: its `name:` as written, or GitHub's default
    /// `Run <first line of run>` (`Run <action>` for a `uses:` step).
    pub step: String,
    /// The step's script, as written; empty for a `uses:` step.
    pub run: String,
    /// Where the script runs, repo-relative and normalised (`None`: the
    /// repository root, or a directory that could not be taken over, which
    /// then has an [`unresolved`](Self::unresolved) line). Never absolute or
    /// escaping the repository.
    pub working_directory: Option<String>,
    /// Workflow env < job env < step env, in the order first set. Entries
    /// whose value uses a `${{ }}` expression are left out (and named in
    /// [`unresolved`](Self::unresolved)), as is a lower layer's value for a
    /// name that a higher layer sets by an expression.
    pub env: Vec<(String, String)>,
    /// The step's shell (`shell:` of the step, else `defaults.run.shell` of
    /// the job, else of the workflow), as written.
    pub shell: Option<String>,
    /// What could not be taken over, one line each: expressions in `run`, a
    /// `uses:` step, a working directory or env value that needs an
    /// expression, a shell that is not POSIX.
    pub unresolved: Vec<String>,
}

/// Finds the step that the log names `step` in the job that the log names
/// `job`, in the workflows of `tree` (the failing commit's checkout).
///
/// `workflow_hint` narrows the search to one workflow: its path
/// (`.github/workflows/ci.yml`, with or without an `@ref` suffix as the
/// GitHub API reports it, or the bare file name) or its `name:`. A job
/// matches by its display name or its id, also when the log adds a matrix
/// suffix (`test (3.11, ubuntu-latest)`) or the name is a template
/// (`test (${{ matrix.python }})`). A step matches by its `name:`, by
/// GitHub's default name `Run <first line of run>`, or, for a named step, by
/// that same `Run <first line>` header, which is all a whole-job log shows.
///
/// The closest match wins (exact names before ids, matrix suffixes and
/// templates). When equally close matches in different places disagree on
/// what to run, the answer is `None`: running the wrong step would prove
/// nothing.
#[must_use]
pub fn find_ci_step(
    tree: &Path,
    workflow_hint: Option<&str>,
    job: &str,
    step: &str,
) -> Option<CiStep> {
    let mut found: Vec<((u8, u8), CiStep)> = Vec::new();
    for (rel, wf) in workflow_files(tree) {
        if let Some(hint) = workflow_hint
            && !hint_matches(hint, &rel, &wf)
        {
            continue;
        }
        for (job_id, j) in &wf.jobs.0 {
            let Some(job_rank) = job_rank(job, job_id, j) else {
                continue;
            };
            let best_step = j
                .steps
                .iter()
                .filter_map(|s| step_rank(step, s).map(|r| (r, s)))
                .min_by_key(|(r, _)| *r);
            if let Some((step_rank, s)) = best_step {
                found.push(((job_rank, step_rank), build(&rel, &wf, job_id, j, s)));
            }
        }
    }
    let best = found.iter().map(|(r, _)| *r).min()?;
    let mut best: Vec<CiStep> = found
        .into_iter()
        .filter(|(r, _)| *r == best)
        .map(|(_, c)| c)
        .collect();
    let first = best.remove(0);
    let same = |c: &CiStep| {
        c.run == first.run
            && c.working_directory == first.working_directory
            && c.env == first.env
            && c.shell == first.shell
    };
    if best.iter().all(same) {
        Some(first)
    } else {
        tracing::warn!(
            job,
            step,
            "several workflow steps match the failing step and differ; not guessing"
        );
        None
    }
}

/// The install commands of the steps of `ci`'s job that run before it, in
/// order: one script per step, each to run from the repository root (a
/// step's working directory becomes a leading `cd`). Only lines that install
/// packages are kept (see `INSTALL_PREFIXES`), never one with a `${{ }}`
/// expression or `sudo`; steps with a non-POSIX shell or a working directory
/// that cannot be taken over are skipped. This is the replay an install phase
/// can use; it is empty when the workflow or step cannot be found again.
/// [`install_from_workflow`](crate::install_from_workflow) turns it, with each
/// step's `env:`, into an install phase.
#[must_use]
pub fn install_steps(tree: &Path, ci: &CiStep) -> Vec<String> {
    install_step_parts(tree, ci)
        .into_iter()
        .map(|part| {
            let mut script = String::new();
            if let Some(dir) = &part.dir {
                script.push_str("cd ");
                script.push_str(&shell_quote(dir));
                script.push('\n');
            }
            script.push_str(&part.lines.join("\n"));
            script
        })
        .collect()
}

/// One step's share of [`install_steps`], in pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstallPart {
    /// Repo-relative directory the lines run in; `None`: the root.
    pub dir: Option<String>,
    /// The install lines, continuations joined.
    pub lines: Vec<String>,
    /// Workflow env < job env < this step's env, without values that use
    /// `${{ }}` expressions (nor a lower layer's value for such a name).
    pub env: Vec<(String, String)>,
}

pub(crate) fn install_step_parts(tree: &Path, ci: &CiStep) -> Vec<InstallPart> {
    let Some((_, wf)) = workflow_files(tree)
        .into_iter()
        .find(|(rel, _)| *rel == ci.workflow)
    else {
        return Vec::new();
    };
    let Some((_, job)) = wf.jobs.0.iter().find(|(id, _)| *id == ci.job) else {
        return Vec::new();
    };
    let Some(failing) = job.steps.iter().position(|s| display_name(s) == ci.step) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in &job.steps[..failing] {
        let (Some(run), None) = (&s.run, &s.uses) else {
            continue;
        };
        let shell = s.shell.as_ref().or(job.defaults.run.shell.as_ref()).or(wf
            .defaults
            .run
            .shell
            .as_ref());
        if shell.is_some_and(|sh| !is_posix_shell(sh)) {
            continue;
        }
        let lines = install_lines(run);
        if lines.is_empty() {
            continue;
        }
        let dir = match effective_working_directory(&wf, job, s) {
            None => None,
            Some(raw) => match normalise_dir(raw) {
                Ok(dir) => dir,
                Err(_) => continue,
            },
        };
        let (env, _) = layered_env(&wf, job, s);
        out.push(InstallPart { dir, lines, env });
    }
    out
}

/// Workflow env < job env < step env, in the order first set, without
/// values that use `${{ }}` expressions; and what was left out, one line each.
fn layered_env(wf: &Workflow, job: &Job, s: &Step) -> (Vec<(String, String)>, Vec<String>) {
    let mut unresolved = Vec::new();
    let mut env: Vec<(String, String)> = Vec::new();
    for (layer, vars) in [("workflow", &wf.env), ("job", &job.env), ("step", &s.env)] {
        if vars.whole.is_some() {
            unresolved.push(format!("the {layer} env is a single expression"));
        }
        for (name, value) in &vars.entries {
            let value = value.clone().unwrap_or_default();
            let at = env.iter().position(|(n, _)| n == name);
            if value.contains("${{") {
                // Named, never quoted: the expression may be a secret's name.
                unresolved.push(format!(
                    "{layer} env {name} is set by an expression and was left out"
                ));
                if let Some(at) = at {
                    env.remove(at);
                }
            } else if let Some(at) = at {
                env[at].1 = value;
            } else {
                env.push((name.clone(), value));
            }
        }
    }
    (env, unresolved)
}

fn build(rel: &str, wf: &Workflow, job_id: &str, job: &Job, s: &Step) -> CiStep {
    let mut unresolved = Vec::new();
    let run = s.run.clone().unwrap_or_default();
    if let Some(uses) = &s.uses {
        unresolved.push(format!(
            "the step runs an action (uses: {uses}), not a script"
        ));
    } else if s.run.is_none() {
        unresolved.push("the step has no run: script".to_owned());
    }
    let mut seen = Vec::new();
    for e in expressions(&run) {
        if !seen.contains(&e) {
            unresolved.push(format!("run uses the expression {e}"));
            seen.push(e);
        }
    }

    let working_directory = match effective_working_directory(wf, job, s) {
        None => None,
        Some(raw) => match normalise_dir(raw) {
            Ok(dir) => dir,
            Err(why) => {
                unresolved.push(format!("working-directory {raw:?} {why}"));
                None
            }
        },
    };

    let (env, left_out) = layered_env(wf, job, s);
    unresolved.extend(left_out);

    let mut shell = s
        .shell
        .clone()
        .or_else(|| job.defaults.run.shell.clone())
        .or_else(|| wf.defaults.run.shell.clone());
    if let Some(sh) = &shell {
        if sh.contains("${{") {
            unresolved.push(format!("shell {sh:?} uses an expression"));
            shell = None;
        } else if !is_posix_shell(sh) {
            unresolved.push(format!("shell {sh:?} is not a POSIX shell"));
        }
    }

    CiStep {
        workflow: rel.to_owned(),
        job: job_id.to_owned(),
        step: display_name(s),
        run,
        working_directory,
        env,
        shell,
        unresolved,
    }
}

fn effective_working_directory<'a>(wf: &'a Workflow, job: &'a Job, s: &'a Step) -> Option<&'a str> {
    s.working_directory
        .as_deref()
        .or(job.defaults.run.working_directory.as_deref())
        .or(wf.defaults.run.working_directory.as_deref())
}

/// A working directory as a normalised repo-relative path (`None`: the root),
/// or why it cannot be taken over.
fn normalise_dir(raw: &str) -> Result<Option<String>, &'static str> {
    if raw.contains("${{") {
        return Err("uses an expression");
    }
    // GitHub does not expand `$VAR` or `~` here, and a backslash is a
    // Windows path: none of them names a directory of the checkout.
    if raw.contains('$') || raw.starts_with('~') || raw.contains('\\') {
        return Err("is not a plain repository path");
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(raw.trim()).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().ok_or("is not UTF-8")?),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err("leaves the repository");
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err("is absolute"),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

fn is_posix_shell(shell: &str) -> bool {
    matches!(shell.split_whitespace().next(), Some("bash" | "sh"))
}

/// Every `${{ … }}` in `text`, as written (an unclosed one runs to the end).
fn expressions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let after = &rest[start..];
        let end = after.find("}}").map_or(after.len(), |e| e + 2);
        out.push(after[..end].to_owned());
        rest = &after[end..];
    }
    out
}

/// The lines of `script` that install packages, continuation lines joined.
fn install_lines(script: &str) -> Vec<String> {
    let mut logical: Vec<String> = Vec::new();
    let mut pending = String::new();
    for line in script.lines() {
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        logical.push(std::mem::take(&mut pending));
    }
    if !pending.is_empty() {
        logical.push(pending);
    }
    logical
        .into_iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| {
            !l.contains("${{")
                && !l.split_whitespace().any(|w| w == "sudo")
                && INSTALL_PREFIXES.iter().any(|p| {
                    l.strip_prefix(p)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
                })
        })
        .collect()
}

fn hint_matches(hint: &str, rel: &str, wf: &Workflow) -> bool {
    let hint = hint.trim();
    let path = hint.strip_prefix("./").unwrap_or(hint);
    // The API's `path` can carry the ref: `.github/workflows/ci.yml@refs/heads/main`.
    let path = if path.contains(".github/workflows/") {
        path.split_once('@').map_or(path, |(p, _)| p)
    } else {
        path
    };
    let file_name = rel.rsplit('/').next().unwrap_or(rel);
    path == rel || path == file_name || wf.name.as_deref() == Some(hint)
}

/// How closely the log's job name `wanted` names job `id`: 0 its display
/// name, 1 its id, 2 either with a matrix suffix, 3 its name template.
fn job_rank(wanted: &str, id: &str, job: &Job) -> Option<u8> {
    let wanted = normalise_name(wanted);
    let display = normalise_name(job.name.as_deref().unwrap_or(id));
    let id = normalise_name(id);
    let with_suffix = |base: &str| {
        wanted
            .strip_prefix(base)
            .and_then(|r| r.strip_prefix(" ("))
            .is_some_and(|r| r.ends_with(')'))
    };
    if wanted == display {
        Some(0)
    } else if wanted == id {
        Some(1)
    } else if with_suffix(&display) || with_suffix(&id) {
        Some(2)
    } else if display.contains("${{") && template_matches(&display, &wanted) {
        Some(3)
    } else {
        None
    }
}

/// How closely the log's step name `wanted` names step `s`: 0 its display
/// name (or name template), 1 the `Run <first line>` header of a named step.
fn step_rank(wanted: &str, s: &Step) -> Option<u8> {
    let wanted = normalise_name(wanted);
    let display = normalise_name(&display_name(s));
    if wanted == display || (display.contains("${{") && template_matches(&display, &wanted)) {
        return Some(0);
    }
    let header = default_name(s).map(|h| normalise_name(&h));
    (s.name.is_some() && header.is_some_and(|h| h == wanted)).then_some(1)
}

fn display_name(s: &Step) -> String {
    s.name
        .clone()
        .or_else(|| default_name(s))
        .unwrap_or_default()
}

/// GitHub's name for an unnamed step: `Run` and the first line of its script,
/// or the action it uses.
fn default_name(s: &Step) -> Option<String> {
    if let Some(uses) = &s.uses {
        return Some(format!("Run {}", uses.trim()));
    }
    let run = s.run.as_deref()?;
    let first = run.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(format!("Run {first}"))
}

/// Names as run-log zips spell them: characters a file name cannot hold
/// become `_` (`Run actions/checkout@v4` is `2_Run actions_checkout@v4.txt`).
fn normalise_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .collect()
}

/// Whether `text` matches `template`, each `${{ … }}` standing for any text.
fn template_matches(template: &str, text: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${{") {
        literals.push(&rest[..start]);
        let after = &rest[start..];
        let end = after.find("}}").map_or(after.len(), |e| e + 2);
        rest = &after[end..];
    }
    literals.push(rest);
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    let Some(mut text) = text.strip_prefix(first) else {
        return false;
    };
    if literals.len() == 1 {
        return text.is_empty();
    }
    for middle in &literals[1..literals.len() - 1] {
        match text.find(middle) {
            Some(at) => text = &text[at + middle.len()..],
            None => return false,
        }
    }
    text.ends_with(last)
}

/// The readable workflow files of `tree`, sorted by path, parsed.
fn workflow_files(tree: &Path) -> Vec<(String, Workflow)> {
    // A symlinked `.github` or `workflows` could point out of the checkout.
    let dir = tree.join(WORKFLOWS_DIR);
    for p in [tree.join(".github"), dir.clone()] {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            _ => return Vec::new(),
        }
    }
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            Path::new(n)
                .extension()
                .is_some_and(|e| e == "yml" || e == "yaml")
        })
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let rel = format!("{WORKFLOWS_DIR}/{name}");
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() && m.len() <= WORKFLOW_MAX_BYTES => {}
            Ok(m) if m.is_file() => {
                tracing::warn!(path = %rel, bytes = m.len(), "workflow file too large; skipped");
                continue;
            }
            _ => continue,
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(path = %rel, error = %e, "unreadable workflow file; skipped");
                continue;
            }
        };
        match serde_saphyr::from_str::<Workflow>(&text) {
            Ok(wf) => out.push((rel, wf)),
            Err(e) => {
                tracing::warn!(path = %rel, error = %e, "workflow file is not valid YAML; skipped");
            }
        }
    }
    out
}

// What selfheal reads of a workflow; everything else (`on:`, `runs-on:`,
// `strategy:`, `with:` ...) is ignored, so odd values there cannot make a
// file unreadable. Scalars read into `String` keep their text (`8080`,
// `true`), as GitHub passes them to the shell.

#[derive(Deserialize, Default)]
#[serde(default)]
struct Workflow {
    name: Option<String>,
    env: Env,
    defaults: Defaults,
    jobs: Ordered<Job>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Job {
    name: Option<String>,
    env: Env,
    defaults: Defaults,
    steps: Vec<Step>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Defaults {
    run: RunDefaults,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct RunDefaults {
    shell: Option<String>,
    working_directory: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct Step {
    name: Option<String>,
    uses: Option<String>,
    run: Option<String>,
    working_directory: Option<String>,
    shell: Option<String>,
    env: Env,
}

/// An `env:` mapping in file order (a null value is the empty string), or
/// one expression that yields the whole mapping.
#[derive(Default)]
struct Env {
    entries: Vec<(String, Option<String>)>,
    whole: Option<String>,
}

impl<'de> Deserialize<'de> for Env {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Env;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an env mapping or an expression")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Env, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    entries.push((k, map.next_value::<Option<String>>()?));
                }
                Ok(Env {
                    entries,
                    whole: None,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Env, E> {
                Ok(Env {
                    entries: Vec::new(),
                    whole: Some(v.to_owned()),
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<Env, E> {
                Ok(Env::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Env, E> {
                Ok(Env::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping in file order (jobs are tried in the order they are written).
struct Ordered<T>(Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    out.push((k, map.next_value::<T>()?));
                }
                Ok(Ordered(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Ordered<T>, E> {
                Ok(Ordered::default())
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_any_text_for_each_expression() {
        let t = "test (${{ matrix.python }}, ${{ matrix.os }})";
        assert!(template_matches(t, "test (3.11, ubuntu-latest)"));
        assert!(!template_matches(t, "lint (3.11, ubuntu-latest)"));
        assert!(!template_matches(t, "test 3.11"));
        assert!(template_matches(
            "Test on ${{ matrix.os }}",
            "Test on windows"
        ));
        assert!(!template_matches("plain", "plainer"));
    }

    #[test]
    fn working_directories_stay_inside_the_repository() {
        assert_eq!(normalise_dir("./backend/"), Ok(Some("backend".to_owned())));
        assert_eq!(normalise_dir("a/../b/./c"), Ok(Some("b/c".to_owned())));
        assert_eq!(normalise_dir("."), Ok(None));
        assert_eq!(normalise_dir("../other"), Err("leaves the repository"));
        assert_eq!(normalise_dir("a/../../x"), Err("leaves the repository"));
        assert_eq!(normalise_dir("/srv/app"), Err("is absolute"));
        assert_eq!(
            normalise_dir("$HOME/app"),
            Err("is not a plain repository path")
        );
        assert_eq!(
            normalise_dir("${{ github.workspace }}/app"),
            Err("uses an expression")
        );
    }

    #[test]
    fn install_lines_join_continuations_and_skip_sudo_and_expressions() {
        let script = "python -m pip install --upgrade pip\npip install \\\n  -r requirements.txt\nsudo apt-get install -y libpq-dev\npip install ${{ matrix.extra }}\nnpm cit\npytest\n";
        assert_eq!(
            install_lines(script),
            vec![
                "python -m pip install --upgrade pip".to_owned(),
                "pip install -r requirements.txt".to_owned(),
            ]
        );
    }

    #[test]
    fn expressions_are_listed_as_written() {
        assert_eq!(
            expressions("pytest --py ${{ matrix.python }} ${{env.X}} ${{ broken"),
            vec!["${{ matrix.python }}", "${{env.X}}", "${{ broken"]
        );
    }
}
