//! `run.json`: what selfheal knows about a cached run.
//!
//! selfheal writes it from [`RunInfo`] when it caches a run, but people also
//! drop in what `gh api repos/O/R/actions/runs/ID` prints. The reader is
//! therefore lenient: every field is optional, `id` may be a number or a
//! string, the workflow may come as `name`, the repository as an object with
//! `full_name`, and fields of an unexpected type are ignored rather than
//! failing the whole cache. Only text that is not a JSON object is an error.

use std::path::Path;

use selfheal_types::RunInfo;
use serde_json::Value;

use crate::MonitorError;

/// Largest `run.json` read; a real one is a few kilobytes.
pub(crate) const MAX_RUN_JSON: u64 = 1 << 20;

/// A run's metadata with the id still optional (the caller knows a fallback).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RunJson {
    pub id: Option<String>,
    pub info: RunInfo,
}

impl RunJson {
    pub fn into_info(self, fallback_id: &str) -> RunInfo {
        RunInfo {
            id: self.id.unwrap_or_else(|| fallback_id.to_owned()),
            ..self.info
        }
    }
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<RunJson, MonitorError> {
    let bad = |reason: String| MonitorError::BadRunJson {
        path: path.to_path_buf(),
        reason,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(bad("expected a JSON object".to_owned()));
    };
    let text_field = |key: &str| match map.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    };
    let id = match map.get("id") {
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => text_field("id"),
    };
    let repository = text_field("repository").or_else(|| {
        map.get("repository")
            .and_then(|r| r.get("full_name"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    Ok(RunJson {
        id,
        info: RunInfo {
            id: String::new(),
            head_sha: text_field("head_sha"),
            head_branch: text_field("head_branch"),
            workflow: text_field("workflow").or_else(|| text_field("name")),
            repository,
            created_at: text_field("created_at"),
            html_url: text_field("html_url"),
            ..RunInfo::default()
        },
    })
}

/// Milliseconds since the Unix epoch of an RFC 3339 time
/// (`2026-11-25T22:13:42Z`, `2026-11-25T23:13:42.5+01:00`), or `None` when
/// the text is not one. Hand-rolled because ordering runs is all it is for.
pub(crate) fn rfc3339_millis(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        // Milliseconds are plenty to order runs; further digits are dropped.
        let mut frac = num(start..i.min(start + 3))?;
        for _ in (i - start)..3 {
            frac *= 10;
        }
        millis = frac;
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let minutes = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_selfheal_writes() {
        let info = RunInfo {
            id: "123".into(),
            head_sha: Some("abc".into()),
            head_branch: Some("main".into()),
            workflow: Some("CI".into()),
            repository: Some("o/r".into()),
            created_at: Some("2026-01-02T03:04:05Z".into()),
            html_url: Some("https://github.com/o/r/actions/runs/123".into()),
            ..RunInfo::default()
        };
        let text = serde_json::to_string(&info).expect("serializes");
        let parsed = parse(&text, Path::new("run.json")).expect("parses");
        assert_eq!(parsed.into_info("fallback"), info);
    }

    #[test]
    fn accepts_githubs_own_run_object() {
        let text = r#"{"id": 987654321, "name": "tests", "head_sha": "f00",
            "head_branch": "dev", "repository": {"full_name": "octo/cat"},
            "created_at": "2026-03-04T05:06:07Z", "status": "completed", "run_attempt": 2}"#;
        let info = parse(text, Path::new("run.json"))
            .expect("parses")
            .into_info("x");
        assert_eq!(
            info,
            RunInfo {
                id: "987654321".into(),
                head_sha: Some("f00".into()),
                head_branch: Some("dev".into()),
                workflow: Some("tests".into()),
                repository: Some("octo/cat".into()),
                created_at: Some("2026-03-04T05:06:07Z".into()),
                html_url: None,
                ..RunInfo::default()
            }
        );
    }

    #[test]
    fn odd_fields_are_ignored_and_the_id_falls_back() {
        let info = parse(
            r#"{"head_sha": 12, "created_at": null, "id": ""}"#,
            Path::new("r"),
        )
        .expect("parses")
        .into_info("42");
        assert_eq!(
            info,
            RunInfo {
                id: "42".into(),
                ..RunInfo::default()
            }
        );
    }

    #[test]
    fn non_objects_are_errors_naming_the_file() {
        for text in ["[1]", "{nope", ""] {
            let err = parse(text, Path::new("/c/run.json")).expect_err(text);
            assert!(
                err.to_string()
                    .starts_with("cannot read run metadata /c/run.json"),
                "{err}"
            );
        }
    }

    #[test]
    fn rfc3339_times_compare_across_offsets() {
        assert_eq!(rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_millis("1970-01-02T00:00:00.25z"), Some(86_400_250));
        assert_eq!(
            rfc3339_millis("2026-11-25T23:13:42+01:00"),
            rfc3339_millis("2026-11-25T22:13:42Z")
        );
        assert_eq!(
            rfc3339_millis("2000-03-01T00:00:00Z"),
            Some(951_868_800_000)
        );
        assert_eq!(rfc3339_millis("1969-12-31 23:59:59.9999-00:00"), Some(-1));
        for bad in [
            "",
            "2026-11-25",
            "2026-13-01T00:00:00Z",
            "2026-11-25T22:13:42",
            "2026-11-25T22:13:42.Z",
            "２０２６-11-25T22:13:42Z",
        ] {
            assert_eq!(rfc3339_millis(bad), None, "{bad}");
        }
    }
}
