//! Unpacking a run-logs zip without trusting it.
//!
//! The zip comes from the network (GitHub, or whatever a misconfigured base
//! URL points at), so every entry name is checked before it becomes a path,
//! only plain files and folders are created, and the sizes are counted on
//! the bytes actually inflated: a zip bomb's headers lie about them.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::MonitorError;

/// How much a run-logs zip may unpack to. A real run's logs are a few
/// hundred files and megabytes; the defaults leave room for huge runs while
/// keeping a hostile archive from filling the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Entries (files and folders) in the archive.
    pub max_entries: usize,
    /// Inflated bytes of any one file.
    pub max_entry_bytes: u64,
    /// Inflated bytes of all files together.
    pub max_total_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_entries: 20_000,
            max_entry_bytes: 1 << 30,
            max_total_bytes: 4 << 30,
        }
    }
}

/// Unpacks `zip` into the existing, empty folder `dest`. On error `dest` may
/// hold part of the archive; the caller removes it.
pub(crate) fn unpack(zip: &Path, dest: &Path, limits: ArchiveLimits) -> Result<(), MonitorError> {
    let refuse = |reason: String| MonitorError::UnsafeArchive {
        source_name: zip.display().to_string(),
        reason,
    };
    let zip_err = |source| MonitorError::Zip {
        path: zip.to_path_buf(),
        source,
    };
    let file = fs::File::open(zip).map_err(MonitorError::io("open", zip.to_path_buf()))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file)).map_err(zip_err)?;
    if archive.len() > limits.max_entries {
        return Err(refuse(format!(
            "{} entries, more than the limit of {}",
            archive.len(),
            limits.max_entries
        )));
    }
    // The headers' claims reject an honest giant before anything is written;
    // the counting below catches the ones that lie.
    let mut claimed: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(zip_err)?;
        if entry.size() > limits.max_entry_bytes {
            return Err(refuse(format!(
                "entry `{}` unpacks to {} bytes, more than the limit of {}",
                entry.name().unwrap_or_default().escape_debug(),
                entry.size(),
                limits.max_entry_bytes
            )));
        }
        claimed = claimed.saturating_add(entry.size());
    }
    if claimed > limits.max_total_bytes {
        return Err(refuse(format!(
            "entries unpack to {claimed} bytes, more than the limit of {}",
            limits.max_total_bytes
        )));
    }

    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(zip_err)?;
        let name = entry
            .name()
            .map_err(|e| refuse(format!("entry {index} has an unreadable name: {e}")))?
            .into_owned();
        let relative = safe_relative_path(&name)
            .map_err(|why| refuse(format!("entry `{}` {why}", name.escape_debug())))?;
        let kind = entry.unix_mode().map_or(0, |mode| mode & S_IFMT);
        if entry.is_symlink() || !matches!(kind, 0 | S_IFREG | S_IFDIR) {
            return Err(refuse(format!(
                "entry `{}` is a link or special file, not a plain file",
                name.escape_debug()
            )));
        }
        let path = dest.join(&relative);
        if entry.is_dir() || kind == S_IFDIR {
            fs::create_dir_all(&path).map_err(MonitorError::io("create", path.clone()))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(MonitorError::io("create", parent.to_path_buf()))?;
        }
        // `create_new`: a second entry of the same name (or one differing only
        // in case, on a case-insensitive disk) is refused rather than overwriting.
        let out = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(out) => out,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(refuse(format!(
                    "entry `{}` appears twice",
                    name.escape_debug()
                )));
            }
            Err(source) => {
                return Err(MonitorError::Io {
                    action: "create",
                    path,
                    source,
                });
            }
        };
        let allowed = limits
            .max_entry_bytes
            .min(limits.max_total_bytes.saturating_sub(total));
        let mut out = io::BufWriter::new(out);
        let written = match copy_limited(&mut entry, &mut out, allowed) {
            Ok(written) => written,
            Err(CopyError::TooBig) => {
                let which = if allowed < limits.max_entry_bytes {
                    format!(
                        "all entries together unpack to more than the limit of {} bytes",
                        limits.max_total_bytes
                    )
                } else {
                    format!(
                        "entry `{}` unpacks to more than the limit of {} bytes",
                        name.escape_debug(),
                        limits.max_entry_bytes
                    )
                };
                return Err(refuse(which));
            }
            // The zip crate reports an entry that inflates past its header's
            // size, or fails its checksum, as invalid data: a lying archive.
            Err(CopyError::Read(e)) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(refuse(format!(
                    "entry `{}` is corrupt or larger than its header says: {e}",
                    name.escape_debug()
                )));
            }
            Err(CopyError::Read(e)) => return Err(zip_err(zip::result::ZipError::Io(e))),
            Err(CopyError::Write(source)) => {
                return Err(MonitorError::Io {
                    action: "write",
                    path,
                    source,
                });
            }
        };
        out.flush()
            .map_err(MonitorError::io("write", path.clone()))?;
        total += written;
    }
    Ok(())
}

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

#[derive(Debug)]
pub(crate) enum CopyError {
    /// More than the allowed bytes came out.
    TooBig,
    Read(io::Error),
    Write(io::Error),
}

/// Copies at most `limit` bytes, failing with [`CopyError::TooBig`] as soon
/// as the reader yields one more: counted on what is read, whatever the
/// archive claims.
pub(crate) fn copy_limited(
    reader: &mut impl Read,
    writer: &mut impl Write,
    limit: u64,
) -> Result<u64, CopyError> {
    let mut buf = vec![0; 64 * 1024];
    let mut limited = reader.take(limit.saturating_add(1));
    let mut copied: u64 = 0;
    loop {
        let n = match limited.read(&mut buf) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        copied += n as u64;
        if copied > limit {
            return Err(CopyError::TooBig);
        }
        writer.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
}

/// The entry name as a path inside the destination, or why it is refused.
///
/// Stricter than the zip crate's `enclosed_name`: GitHub's names are plain
/// `job/1_step.txt`, so anything that needs interpreting (`..` even when it
/// stays inside, `.`, empty components, backslashes, drive letters, control
/// characters) is refused rather than resolved.
pub(crate) fn safe_relative_path(name: &str) -> Result<PathBuf, &'static str> {
    if name.is_empty() {
        return Err("has an empty name");
    }
    if name.contains('\0') {
        return Err("has a NUL in its name");
    }
    if name.chars().any(char::is_control) {
        return Err("has a control character in its name");
    }
    if name.contains('\\') {
        return Err("has a backslash in its name");
    }
    if name.starts_with('/') {
        return Err("is an absolute path");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("starts with a drive letter");
    }
    // A folder entry ends in `/`; that one trailing slash is not a component.
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    let mut path = PathBuf::new();
    for component in trimmed.split('/') {
        match component {
            "" => return Err("has an empty path component"),
            "." | ".." => return Err("has a `.` or `..` path component"),
            _ => path.push(component),
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_limited_counts_the_bytes_it_reads() {
        let mut out = Vec::new();
        let copied = copy_limited(&mut io::repeat(7).take(10), &mut out, 10).expect("fits");
        assert_eq!((copied, out.len()), (10, 10));

        let mut out = Vec::new();
        let err = copy_limited(&mut io::repeat(7).take(11), &mut out, 10).expect_err("too big");
        assert!(matches!(err, CopyError::TooBig), "{err:?}");
        assert!(out.len() <= 10, "wrote {} bytes past the limit", out.len());

        // An endless reader ends at the limit, not at the end of the disk.
        let err = copy_limited(&mut io::repeat(0), &mut io::sink(), 1 << 20).expect_err("endless");
        assert!(matches!(err, CopyError::TooBig), "{err:?}");
    }

    #[test]
    fn plain_names_become_relative_paths() {
        for (name, path) in [
            ("0_build.txt", "0_build.txt"),
            ("build/1_Set up job.txt", "build/1_Set up job.txt"),
            ("build/", "build"),
            ("a..b/c.txt", "a..b/c.txt"),
            ("Run: tests.txt", "Run: tests.txt"),
        ] {
            assert_eq!(safe_relative_path(name), Ok(PathBuf::from(path)), "{name}");
        }
    }

    #[test]
    fn names_that_could_escape_are_refused() {
        for name in [
            "",
            "../x",
            "a/../../x",
            "a/../b",
            "./a",
            "a/./b",
            "a//b",
            "/etc/passwd",
            "//server/share",
            "C:/Windows/x",
            "c:x",
            "..\\x",
            "a\\..\\..\\x",
            "a\0b",
            "a\nb",
            "..",
            "/",
        ] {
            assert!(
                safe_relative_path(name).is_err(),
                "{} was accepted",
                name.escape_debug()
            );
        }
    }
}
