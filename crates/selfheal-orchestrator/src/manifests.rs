//! The dependencies a manifest declares, so that the [`policy`](crate::policy)
//! can refuse a repair that adds one unless the user allows it.
//!
//! Each reader takes the names only (no versions, no extras), so raising a
//! version is not a new dependency but naming a new package is. A manifest
//! that does not parse declares nothing: the change's own text is then read
//! again after it, and a broken manifest fails the tests anyway.

use std::collections::BTreeSet;

/// The names `text` declares as dependencies, if `path` is a manifest selfheal
/// reads; `None` for any other file.
pub(crate) fn declared(path: &str, text: &str) -> Option<BTreeSet<String>> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let names = if is_requirements(&lower) {
        requirements(text)
    } else {
        match lower.as_str() {
            "package.json" => package_json(text),
            "cargo.toml" => cargo_toml(text),
            "pyproject.toml" => pyproject(text),
            "go.mod" => go_mod(text),
            "pom.xml" => pom(text),
            "build.gradle" | "build.gradle.kts" => gradle(text),
            _ => return None,
        }
    };
    Some(names)
}

/// Names in `after` that `before` (`None`: a new file) did not declare.
pub(crate) fn added(path: &str, before: Option<&str>, after: &str) -> Vec<String> {
    let Some(now) = declared(path, after) else {
        return Vec::new();
    };
    let was = before.and_then(|b| declared(path, b)).unwrap_or_default();
    now.difference(&was).cloned().collect()
}

/// `name` is already lower case.
fn is_requirements(name: &str) -> bool {
    let ext = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    (name.starts_with("requirements") || name.starts_with("constraints"))
        && matches!(ext, "txt" | "in")
}

/// A PEP 508 requirement's normalised project name (`Foo_Bar[x]>=1` → `foo-bar`).
fn pep508_name(spec: &str) -> Option<String> {
    let spec = spec.trim();
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    if name.is_empty() {
        return None;
    }
    Some(name.to_ascii_lowercase().replace(['_', '.'], "-"))
}

fn requirements(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split(" #").next().unwrap_or(l).trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('-'))
        .filter_map(pep508_name)
        .collect()
}

fn package_json(text: &str) -> BTreeSet<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return BTreeSet::new();
    };
    [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ]
    .iter()
    .filter_map(|k| v.get(k).and_then(serde_json::Value::as_object))
    .flat_map(|deps| deps.keys().cloned())
    .collect()
}

fn toml_keys(table: Option<&toml::Value>) -> impl Iterator<Item = String> + '_ {
    table
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|t| t.keys().cloned())
}

fn cargo_toml(text: &str) -> BTreeSet<String> {
    let Ok(v) = text.parse::<toml::Table>() else {
        return BTreeSet::new();
    };
    let sections = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut names: BTreeSet<String> = sections.iter().flat_map(|s| toml_keys(v.get(*s))).collect();
    let targets = v.get("target").and_then(toml::Value::as_table);
    for cfg in targets.into_iter().flat_map(|t| t.values()) {
        names.extend(sections.iter().flat_map(|s| toml_keys(cfg.get(*s))));
    }
    let workspace = v.get("workspace");
    names.extend(toml_keys(workspace.and_then(|w| w.get("dependencies"))));
    names
}

fn pyproject(text: &str) -> BTreeSet<String> {
    let Ok(v) = text.parse::<toml::Table>() else {
        return BTreeSet::new();
    };
    let mut names = BTreeSet::new();
    let specs = |a: Option<&toml::Value>| -> Vec<String> {
        a.and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_str)
            .filter_map(pep508_name)
            .collect()
    };
    let project = v.get("project");
    names.extend(specs(project.and_then(|p| p.get("dependencies"))));
    let optional = project.and_then(|p| p.get("optional-dependencies"));
    for group in optional
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
    {
        names.extend(specs(Some(group.1)));
    }
    for group in v
        .get("dependency-groups")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
    {
        names.extend(specs(Some(group.1)));
    }
    let poetry = v.get("tool").and_then(|t| t.get("poetry"));
    names.extend(
        toml_keys(poetry.and_then(|p| p.get("dependencies")))
            .chain(toml_keys(poetry.and_then(|p| p.get("dev-dependencies"))))
            .filter(|k| k != "python")
            .filter_map(|k| pep508_name(&k)),
    );
    let groups = poetry
        .and_then(|p| p.get("group"))
        .and_then(toml::Value::as_table);
    for group in groups.into_iter().flat_map(|g| g.values()) {
        names.extend(toml_keys(group.get("dependencies")).filter_map(|k| pep508_name(&k)));
    }
    names
}

fn go_mod(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or(line).trim();
        if in_block {
            if line == ")" {
                in_block = false;
            } else if let Some(module) = line.split_whitespace().next() {
                names.insert(module.to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("require") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
            } else if let Some(module) = rest.split_whitespace().next() {
                names.insert(module.to_owned());
            }
        }
    }
    names
}

/// `groupId:artifactId` of every `<dependency>` element.
fn pom(text: &str) -> BTreeSet<String> {
    let tag = |block: &str, name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = block.find(&open)? + open.len();
        let end = block[start..].find('<')? + start;
        Some(block[start..end].trim().to_owned())
    };
    text.split("<dependency>")
        .skip(1)
        .filter_map(|rest| rest.split("</dependency>").next())
        .filter_map(|block| {
            Some(format!(
                "{}:{}",
                tag(block, "groupId")?,
                tag(block, "artifactId")?
            ))
        })
        .collect()
}

/// `group:name` of dependency declarations in the usual configurations.
fn gradle(text: &str) -> BTreeSet<String> {
    const CONFIGURATIONS: &[&str] = &[
        "implementation",
        "api",
        "compileOnly",
        "runtimeOnly",
        "testImplementation",
        "testCompileOnly",
        "testRuntimeOnly",
        "annotationProcessor",
        "kapt",
        "compile",
        "testCompile",
    ];
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(config) = CONFIGURATIONS.iter().find(|c| {
            line.strip_prefix(**c)
                .is_some_and(|rest| rest.starts_with([' ', '(', '\'', '"']))
        }) else {
            continue;
        };
        let rest = &line[config.len()..];
        let Some(open) = rest.find(['"', '\'']) else {
            continue;
        };
        let quote = rest[open..].chars().next().unwrap_or('"');
        let body = &rest[open + 1..];
        let coordinate = body.split(quote).next().unwrap_or(body);
        let mut parts = coordinate.split(':');
        if let (Some(group), Some(name)) = (parts.next(), parts.next()) {
            names.insert(format!("{group}:{name}"));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_version_is_not_a_new_dependency_but_a_new_name_is() {
        let before =
            "# pinned\nrequests==2.31\nFlask[async]>=2 ; python_version>'3'\n-r base.txt\n";
        let after = "# pinned\nrequests==2.32\nflask[async]>=3\nleft_pad==1.0\n-r base.txt\n";
        assert_eq!(
            added("requirements-dev.txt", Some(before), after),
            ["left-pad"]
        );
        assert!(added("requirements.txt", Some(before), before).is_empty());
        assert_eq!(added("requirements.txt", None, "six\n"), ["six"]);
    }

    #[test]
    fn package_json_cargo_and_pyproject() {
        let before =
            r#"{"name": "x", "dependencies": {"lodash": "^4"}, "scripts": {"test": "jest"}}"#;
        let after = r#"{"name": "x", "dependencies": {"lodash": "^5"}, "devDependencies": {"left-pad": "1"}, "scripts": {"test": "jest"}}"#;
        assert_eq!(added("web/package.json", Some(before), after), ["left-pad"]);

        let before = "[package]\nname = \"x\"\n[dependencies]\nserde = \"1\"\n";
        let after = "[package]\nname = \"x\"\n[dependencies]\nserde = \"1.0.200\"\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n";
        assert_eq!(added("Cargo.toml", Some(before), after), ["libc"]);

        let before = "[project]\nname = \"x\"\ndependencies = [\"requests>=2\"]\n";
        let after = "[project]\nname = \"x\"\ndependencies = [\"requests>=2.1\"]\n[project.optional-dependencies]\ntest = [\"pytest-mock\"]\n[tool.poetry.dependencies]\npython = \"^3.11\"\nAttrs = \"*\"\n";
        assert_eq!(
            added("pyproject.toml", Some(before), after),
            ["attrs", "pytest-mock"]
        );
    }

    #[test]
    fn go_mod_pom_and_gradle() {
        let before = "module m\n\nrequire golang.org/x/text v0.3.0\n";
        let after = "module m\n\nrequire (\n\tgolang.org/x/text v0.4.0\n\tgithub.com/pkg/errors v0.9.1 // indirect\n)\n";
        assert_eq!(
            added("go.mod", Some(before), after),
            ["github.com/pkg/errors"]
        );

        let dep = |g: &str, a: &str| {
            format!(
                "<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>1</version></dependency>"
            )
        };
        let before = format!(
            "<project><dependencies>{}</dependencies></project>",
            dep("junit", "junit")
        );
        let after = format!(
            "<project><dependencies>{}{}</dependencies></project>",
            dep("junit", "junit"),
            dep("com.google.guava", "guava")
        );
        assert_eq!(
            added("pom.xml", Some(&before), &after),
            ["com.google.guava:guava"]
        );

        let before = "dependencies {\n    testImplementation 'junit:junit:4.13'\n}\n";
        let after = "dependencies {\n    testImplementation 'junit:junit:4.13.2'\n    implementation(\"com.squareup.okio:okio:3.0\")\n}\n";
        assert_eq!(
            added("build.gradle.kts", Some(before), after),
            ["com.squareup.okio:okio"]
        );
    }

    #[test]
    fn other_files_and_broken_manifests_declare_nothing() {
        assert_eq!(declared("src/app.py", "import requests"), None);
        assert!(added("package.json", None, "{not json").is_empty());
        assert!(added("Cargo.toml", None, "[dependencies\n").is_empty());
    }
}
