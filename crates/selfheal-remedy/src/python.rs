//! Just enough of Python's source layout for the remedies: identifier
//! tokens outside strings and comments, blocks by indentation, and the names
//! a module, a class, a function or a test suite defines.

use std::ops::Range;

/// How an identifier is used where it occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// `obj.name`: an attribute.
    Attribute,
    /// Anything else: a variable, a parameter, a function's name.
    Bare,
}

/// One identifier in code: its byte range and whether a `.` comes before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub range: Range<usize>,
    pub kind: Use,
}

/// The identifiers of `text` outside strings and comments, in order.
/// f-strings count as strings: a name only inside `{}` of an f-string is
/// not found, which errs on the side of changing less.
pub(crate) fn identifiers(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut after_dot = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'\'' || c == b'"' {
            i = string_end(bytes, i);
            after_dot = false;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            // A string prefix (`f"`, `rb'`) belongs to the string.
            if i < bytes.len() && (bytes[i] == b'\'' || bytes[i] == b'"') && i - start <= 2 {
                continue;
            }
            out.push(Token {
                range: start..i,
                kind: if after_dot { Use::Attribute } else { Use::Bare },
            });
            after_dot = false;
            continue;
        }
        if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            after_dot = false;
            continue;
        }
        if c == b'.' {
            after_dot = true;
        } else if !c.is_ascii_whitespace() && c != b'\\' {
            after_dot = false;
        }
        i += 1;
    }
    out
}

/// Where the string literal opening at `start` ends (one past its closing quote).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes.len() >= start + 3 && bytes[start + 1] == quote && bytes[start + 2] == quote;
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if !triple => return i,
            c if c == quote => {
                if !triple {
                    return i + 1;
                }
                if bytes.len() >= i + 3 && bytes[i + 1] == quote && bytes[i + 2] == quote {
                    return i + 3;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `text` with every `kind` use of identifier `old` replaced by `new`;
/// `None` when there is none.
pub(crate) fn replace_identifier(text: &str, old: &str, new: &str, kind: Use) -> Option<String> {
    let mut out = String::with_capacity(text.len() + new.len());
    let mut last = 0;
    for t in identifiers(text) {
        if t.kind == kind && &text[t.range.clone()] == old {
            out.push_str(&text[last..t.range.start]);
            out.push_str(new);
            last = t.range.end;
        }
    }
    if last == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// Whether `line` uses identifier `name` as `kind`.
pub(crate) fn uses(line: &str, name: &str, kind: Use) -> bool {
    identifiers(line)
        .iter()
        .any(|t| t.kind == kind && &line[t.range.clone()] == name)
}

pub(crate) fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_code(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

/// The name `line` defines with `def`/`async def`/`class`, if it does.
pub(crate) fn defined_name(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let rest = t
        .strip_prefix("async def ")
        .or_else(|| t.strip_prefix("def "))
        .or_else(|| t.strip_prefix("class "))?;
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The last line (0-based, inclusive) of the block that line `start`
/// opens: every following line indented deeper, blank lines and comments
/// inside it included, trailing ones not. Bracketed continuation lines of
/// the opening line (a long `def` signature) belong to it.
pub(crate) fn block_end(lines: &[&str], start: usize) -> usize {
    let base = indent(lines[start]);
    let mut depth = bracket_depth(lines[start]);
    let mut i = start + 1;
    while depth > 0 && i < lines.len() {
        depth += bracket_depth(lines[i]);
        i += 1;
    }
    let mut end = i - 1;
    while i < lines.len() {
        if is_code(lines[i]) {
            if indent(lines[i]) <= base {
                break;
            }
            end = i;
        }
        i += 1;
    }
    end
}

pub(crate) fn bracket_depth(line: &str) -> i32 {
    identifiers_free(line)
        .bytes()
        .map(|b| match b {
            b'(' | b'[' | b'{' => 1,
            b')' | b']' | b'}' => -1,
            _ => 0,
        })
        .sum()
}

/// `line` without its comment and the insides of its one-line strings.
fn identifiers_free(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => break,
            b'\'' | b'"' => i = string_end(bytes, i),
            c => {
                out.push(char::from(c));
                i += 1;
            }
        }
    }
    out
}

/// The `def` line of the function that line `line` (0-based) is in: the
/// innermost one, or the line itself when it is a `def`.
pub(crate) fn enclosing_function(lines: &[&str], line: usize) -> Option<usize> {
    let mut limit = usize::MAX;
    for i in (0..=line.min(lines.len().checked_sub(1)?)).rev() {
        let l = lines[i];
        // `) -> int:` closes a signature over several lines: not a statement.
        if !is_code(l) || (i != line && l.trim_start().starts_with([')', ']', '}'])) {
            continue;
        }
        let ind = indent(l);
        if i != line && ind >= limit {
            continue;
        }
        let t = l.trim_start();
        if t.starts_with("def ") || t.starts_with("async def ") {
            if i == line || block_end(lines, i) >= line {
                return Some(i);
            }
        } else if t.starts_with("class ") && i != line {
            return None;
        }
        limit = limit.min(ind);
        if ind == 0 && i != line {
            return None;
        }
    }
    None
}

/// The names bound at the top level of a module: functions, classes,
/// assignments and imports.
pub(crate) fn module_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines().filter(|l| indent(l) == 0 && is_code(l)) {
        if let Some(name) = defined_name(line) {
            names.push(name.to_owned());
        } else if let Some(bound) = import_bindings(line) {
            names.extend(bound);
        } else if let Some(target) = assigned_name(line) {
            names.push(target.to_owned());
        }
    }
    names
}

/// `NAME = ...` or `NAME: type = ...`: the name.
fn assigned_name(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    let rest = t[end..].trim_start();
    let assigns = (rest.starts_with('=') && !rest.starts_with("=="))
        || (rest.starts_with(':') && rest.contains('='));
    (end > 0 && assigns && !t.starts_with(|c: char| c.is_ascii_digit())).then(|| &t[..end])
}

/// The names an `import` statement on one line binds.
pub(crate) fn import_bindings(line: &str) -> Option<Vec<String>> {
    let t = identifiers_free(line);
    let t = t.trim();
    let bound = |part: &str, whole: bool| -> Option<String> {
        let part = part.trim().trim_matches(|c| c == '(' || c == ')').trim();
        if part.is_empty() || part == "*" {
            return None;
        }
        let name = match part.split_once(" as ") {
            Some((_, alias)) => alias.trim(),
            // `import a.b` binds `a`.
            None if whole => part.split('.').next().unwrap_or(part),
            None => part,
        };
        Some(name.to_owned())
    };
    if let Some(rest) = t.strip_prefix("import ") {
        return Some(rest.split(',').filter_map(|p| bound(p, true)).collect());
    }
    let rest = t.strip_prefix("from ")?;
    let (_, names) = rest.split_once(" import ")?;
    Some(names.split(',').filter_map(|p| bound(p, false)).collect())
}

/// The attributes a class named `class` in `text` has: its methods and
/// class-level names, and what its methods assign to `self.`.
pub(crate) fn class_attributes(text: &str, class: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut names = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.trim_start().starts_with("class ") || defined_name(line) != Some(class) {
            continue;
        }
        let end = block_end(&lines, i);
        let body = indent(line) + 1;
        let members = lines[i + 1..=end].iter().filter(|l| is_code(l));
        let member_indent = members.clone().map(|l| indent(l)).min().unwrap_or(body);
        for l in members {
            if indent(l) == member_indent
                && let Some(name) = defined_name(l).or_else(|| assigned_name(l))
            {
                names.push(name.to_owned());
            }
            let mut rest = *l;
            while let Some(at) = rest.find("self.") {
                let after = &rest[at + 5..];
                let end = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let next = after[end..].trim_start();
                // `self.x = ...`, `self.x += ...`, `self.x: T = ...`.
                let assigned = (next.starts_with('=') && !next.starts_with("=="))
                    || next.starts_with(':')
                    || next.get(1..).is_some_and(|n| {
                        n.starts_with('=') && !next.starts_with(['=', '!', '<', '>'])
                    });
                if end > 0 && assigned {
                    names.push(after[..end].to_owned());
                }
                rest = &after[end..];
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The names a function binds: its parameters, and what its body assigns
/// or imports, or names in a `for` or `with ... as`.
pub(crate) fn function_names(lines: &[&str], def: usize) -> Vec<String> {
    let end = block_end(lines, def);
    let mut names = Vec::new();
    let mut sig_end = def;
    let mut depth = bracket_depth(lines[def]);
    while depth > 0 && sig_end < end {
        sig_end += 1;
        depth += bracket_depth(lines[sig_end]);
    }
    let signature = lines[def..=sig_end].join(" ");
    if let (Some(open), Some(close)) = (signature.find('('), signature.rfind(')')) {
        for p in signature[open + 1..close.max(open + 1)].split(',') {
            let p = p.trim().trim_start_matches('*');
            let end = p
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(p.len());
            if end > 0 {
                names.push(p[..end].to_owned());
            }
        }
    }
    for line in &lines[sig_end + 1..=end] {
        let t = line.trim_start();
        if let Some(bound) = import_bindings(t) {
            names.extend(bound);
        } else if let Some(rest) = t.strip_prefix("for ") {
            if let Some((targets, _)) = rest.split_once(" in ") {
                names.extend(targets.split(',').map(|n| n.trim().to_owned()));
            }
        } else if let Some((_, alias)) = t.strip_prefix("with ").and_then(|r| r.split_once(" as "))
        {
            names.push(alias.trim_end_matches(':').trim().to_owned());
        } else if let Some((targets, _)) = t.split_once('=').filter(|(l, r)| {
            !r.starts_with('=') && !l.ends_with(['!', '<', '>', '=']) && !l.contains('(')
        }) {
            let targets = targets.trim_end_matches(['+', '-', '*', '/', '|', '&', '%']);
            for target in targets.split(',') {
                let target = target.trim().split(':').next().unwrap_or("").trim();
                if !target.is_empty() && target.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    names.push(target.to_owned());
                }
            }
        }
    }
    names.retain(|n| {
        n.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_alphanumeric() || c == '_')
    });
    names.sort();
    names.dedup();
    names
}

/// The pytest fixtures `text` defines: functions right under a
/// `@pytest.fixture` or `@fixture` decorator (the name it gives with
/// `name=` where it gives one).
pub(crate) fn fixtures(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if !(t.starts_with("@pytest.fixture") || t.starts_with("@fixture")) {
            continue;
        }
        if let Some(named) = selfheal_types::missing::quoted_after(t, "name=") {
            out.push(named.to_owned());
            continue;
        }
        if let Some(name) = lines[i + 1..]
            .iter()
            .find(|l| !l.trim_start().starts_with('@') && is_code(l))
            .and_then(|l| defined_name(l))
        {
            out.push(name.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_skip_strings_and_comments_and_see_attributes() {
        let text = "x = self._items  # _items here\ny = '_items' + f\"{_items}\" + \"\"\"\n_items\n\"\"\"\nz = obj . _items";
        let found: Vec<(&str, Use)> = identifiers(text)
            .into_iter()
            .map(|t| (&text[t.range], t.kind))
            .collect();
        assert_eq!(
            found,
            [
                ("x", Use::Bare),
                ("self", Use::Bare),
                ("_items", Use::Attribute),
                ("y", Use::Bare),
                ("z", Use::Bare),
                ("obj", Use::Bare),
                ("_items", Use::Attribute),
            ]
        );
    }

    #[test]
    fn replaces_only_the_asked_use() {
        let line = "    for sku, line in self._items.items(): _items = 1";
        assert_eq!(
            replace_identifier(line, "_items", "_lines", Use::Attribute).as_deref(),
            Some("    for sku, line in self._lines.items(): _items = 1")
        );
        assert_eq!(
            replace_identifier(line, "_items", "_lines", Use::Bare).as_deref(),
            Some("    for sku, line in self._items.items(): _lines = 1")
        );
        assert_eq!(replace_identifier(line, "nope", "x", Use::Bare), None);
    }

    #[test]
    fn blocks_and_enclosing_functions() {
        let text = "import os\n\n\nclass A:\n    def f(self,\n          a):\n        x = 1\n\n        # note\n        return x\n\n    def g(self):\n        return 2\n\n\ndef h():\n    pass\n";
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(block_end(&lines, 4), 9);
        assert_eq!(block_end(&lines, 3), 12);
        assert_eq!(enclosing_function(&lines, 6), Some(4));
        assert_eq!(enclosing_function(&lines, 9), Some(4));
        assert_eq!(enclosing_function(&lines, 12), Some(11));
        assert_eq!(enclosing_function(&lines, 15), Some(15));
        assert_eq!(enclosing_function(&lines, 0), None);
        assert_eq!(enclosing_function(&lines, 3), None);
        // A signature over several lines, closed at the def's own indent.
        let text = "def between(\n    start, end\n) -> int:\n    count = 0\n    return count\n";
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(enclosing_function(&lines, 3), Some(0));
        assert_eq!(enclosing_function(&lines, 4), Some(0));
    }

    #[test]
    fn names_of_modules_classes_functions_and_fixtures() {
        let module = "\"\"\"Doc.\"\"\"\nimport re, os.path as osp\nfrom .x import (a, b as c)\nLIMIT = 3\nTOTAL: int = 0\n\ndef f():\n    inner = 1\n\nclass K:\n    pass\nif LIMIT == 3:\n    pass\n";
        assert_eq!(
            module_names(module),
            ["re", "osp", "a", "c", "LIMIT", "TOTAL", "f", "K"]
        );
        let class = "class Inventory:\n    LIMIT = 2\n\n    def __init__(self):\n        self._lines: dict[str, int] = {}\n        self.total += 1\n        self.count == 1\n\n    def low_stock(self):\n        return self._items\n";
        assert_eq!(
            class_attributes(class, "Inventory"),
            ["LIMIT", "__init__", "_lines", "low_stock", "total"]
        );
        let function = "def _expand(part, lo, hi=3):\n    base, _, step_text = part.partition('/')\n    for i, v in enumerate(base):\n        total += v\n    if step_txt == 1:\n        pass\n";
        let lines: Vec<&str> = function.lines().collect();
        assert_eq!(
            function_names(&lines, 0),
            [
                "_",
                "base",
                "hi",
                "i",
                "lo",
                "part",
                "step_text",
                "total",
                "v"
            ]
        );
        let conftest = "import pytest\n\n@pytest.fixture\ndef dotenv_path(tmp_path):\n    pass\n\n@pytest.fixture(name=\"client\")\ndef make_client():\n    pass\n";
        assert_eq!(fixtures(conftest), ["dotenv_path", "client"]);
    }

    #[test]
    fn import_bindings_of_each_form() {
        assert_eq!(
            import_bindings("import math"),
            Some(vec!["math".to_owned()])
        );
        assert_eq!(
            import_bindings("import os.path, numpy as np"),
            Some(vec!["os".to_owned(), "np".to_owned()])
        );
        assert_eq!(
            import_bindings("from math import asin, cos as c  # trig"),
            Some(vec!["asin".to_owned(), "c".to_owned()])
        );
        assert_eq!(import_bindings("x = 1"), None);
    }
}
