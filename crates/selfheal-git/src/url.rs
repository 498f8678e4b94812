//! Remote addresses as git spells them: URLs, scp-like `host:path`, and
//! local paths. Pure string work, no repository and no network.

use std::path::PathBuf;

/// The `owner/name` of a GitHub (or GitHub Enterprise Server) repository
/// from a remote URL, or `None` when the URL is not a two-part repository
/// path on some host (local paths, `file://` URLs, deeper paths).
///
/// Accepts `https://host/o/r(.git)`, `http://`, `git://`, `ssh://[user@]host[:port]/o/r(.git)`
/// and scp-like `[user@]host:o/r(.git)`, with or without a trailing `/`.
/// The host is not checked: GHES lives on any host and its URLs have the same
/// shape as github.com's. Credentials in the URL are ignored.
pub fn github_slug(url: &str) -> Option<String> {
    let (_, path) = split_network(url)?;
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (owner, name) = path.split_once('/')?;
    let plain = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (plain(owner) && plain(name)).then(|| format!("{owner}/{name}"))
}

/// `(host, path)` of a network remote; `None` for local paths and `file://`.
///
/// `host` keeps a `:port` but drops any `user[:password]@`.
fn split_network(url: &str) -> Option<(&str, &str)> {
    if let Some((scheme, rest)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") || scheme.is_empty() {
            return None;
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        return (!host.is_empty()).then_some((host, path));
    }
    let (authority, path) = scp_parts(url)?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then_some((host, path))
}

/// git's rule for `[user@]host:path`: a colon before the first slash. A
/// single letter before it is a Windows drive (`C:/x`), not a host.
fn scp_parts(url: &str) -> Option<(&str, &str)> {
    if url.contains("://") {
        return None;
    }
    let colon = url.find(':')?;
    let slash = url.find('/').unwrap_or(usize::MAX);
    if colon > slash || colon < 2 {
        return None;
    }
    Some((&url[..colon], &url[colon + 1..]))
}

/// Whether `remote` is spelled as an address rather than a remote's name.
pub(crate) fn looks_like_address(remote: &str) -> bool {
    remote.contains("://")
        || scp_parts(remote).is_some()
        || remote.starts_with(['/', '.', '~'])
        || std::path::Path::new(remote).exists()
}

/// Whether libgit2 reaches `url` through its local transport (a path or
/// `file://`), which copies objects straight between object databases.
pub(crate) fn is_local(url: &str) -> bool {
    split_network(url).is_none()
}

/// The filesystem path of a local remote.
pub(crate) fn local_path(url: &str) -> PathBuf {
    let Some(rest) = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("file://"))
        .map(|_| &url[7..])
    else {
        return PathBuf::from(url);
    };
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    PathBuf::from(percent_decode(rest))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with any `user[:password]@` removed, for messages and for the
/// URL handed to libgit2 when selfheal brings its own token (libgit2 would
/// otherwise try the URL's credentials first).
pub(crate) fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Whether the URL is one libgit2 would reach over SSH.
fn is_ssh(url: &str) -> bool {
    match url.split_once("://") {
        Some((scheme, _)) => {
            let scheme = scheme.to_ascii_lowercase();
            scheme == "ssh" || scheme == "git+ssh" || scheme == "ssh+git"
        }
        None => scp_parts(url).is_some(),
    }
}

/// The HTTPS address of the same repository as an SSH remote.
///
/// selfheal authenticates with a token, which GitHub accepts over HTTPS
/// only, and libgit2 is built here without SSH; `git@github.com:o/r.git`
/// becomes `https://github.com/o/r.git` (any SSH port is dropped: HTTPS has
/// its own).
pub(crate) fn https_for_ssh(url: &str) -> Option<String> {
    if !is_ssh(url) {
        return None;
    }
    let (host, path) = split_network(url)?;
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let path = path.trim_start_matches('/');
    (!path.is_empty()).then(|| format!("https://{host}/{path}"))
}

/// The host (without port or credentials) of an `http(s)://` URL, compared
/// case-insensitively before a token is handed out.
pub(crate) fn http_host(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let (host, _) = split_network(url)?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    Some(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_every_github_url_shape() {
        for url in [
            "https://github.com/o/r",
            "https://github.com/o/r.git",
            "https://github.com/o/r/",
            "https://x-access-token:secret@github.com/o/r.git",
            "http://github.com:80/o/r",
            "git@github.com:o/r.git",
            "github.com:o/r",
            "ssh://git@github.com/o/r",
            "ssh://git@github.com:2222/o/r.git",
            "git://github.com/o/r.git",
        ] {
            assert_eq!(github_slug(url).as_deref(), Some("o/r"), "{url}");
        }
        assert_eq!(
            github_slug("https://ghe.corp.example/platform-team/api.v2.git").as_deref(),
            Some("platform-team/api.v2")
        );
        assert_eq!(
            github_slug("git@ghe.corp.example:My_Org/my-repo.git").as_deref(),
            Some("My_Org/my-repo")
        );
    }

    #[test]
    fn no_slug_for_local_or_odd_paths() {
        for url in [
            "/srv/git/o/r.git",
            "./o/r",
            "../o/r.git",
            "o/r",
            "file:///srv/o/r.git",
            "FILE:///o/r",
            "C:/repos/o/r",
            "https://github.com/o",
            "https://github.com/o/r/tree/main",
            "https://github.com//r",
            "https://github.com/o/..",
            "https:///o/r",
            "git@github.com:o r/x",
            "",
        ] {
            assert_eq!(github_slug(url), None, "{url}");
        }
    }

    #[test]
    fn local_remotes_and_their_paths() {
        assert!(is_local("/srv/r.git"));
        assert!(is_local("file:///srv/r.git"));
        assert!(is_local("../r"));
        assert!(!is_local("https://h/o/r"));
        assert!(!is_local("git@h:o/r"));
        assert_eq!(
            local_path("file:///srv/a%20b.git"),
            PathBuf::from("/srv/a b.git")
        );
        assert_eq!(
            local_path("file://localhost/srv/r"),
            PathBuf::from("/srv/r")
        );
        assert_eq!(local_path("/srv/r%20x"), PathBuf::from("/srv/r%20x"));
    }

    #[test]
    fn userinfo_is_removed_and_ssh_maps_to_https() {
        assert_eq!(
            without_userinfo("https://u:p@h.example/o/r.git"),
            "https://h.example/o/r.git"
        );
        assert_eq!(without_userinfo("https://h/a@b"), "https://h/a@b");
        assert_eq!(without_userinfo("git@h:o/r"), "git@h:o/r");
        assert_eq!(
            https_for_ssh("git@github.com:o/r.git").as_deref(),
            Some("https://github.com/o/r.git")
        );
        assert_eq!(
            https_for_ssh("ssh://git@ghe.example:2222/o/r").as_deref(),
            Some("https://ghe.example/o/r")
        );
        assert_eq!(https_for_ssh("https://github.com/o/r"), None);
        assert_eq!(https_for_ssh("/srv/r.git"), None);
    }

    #[test]
    fn hosts_for_the_token_check() {
        assert_eq!(
            http_host("https://u@GitHub.com:443/o/r").as_deref(),
            Some("github.com")
        );
        assert_eq!(http_host("https://[::1]:8443/r").as_deref(), Some("::1"));
        assert_eq!(http_host("ssh://github.com/o/r"), None);
    }

    #[test]
    fn addresses_versus_remote_names() {
        assert!(looks_like_address("https://h/o/r"));
        assert!(looks_like_address("git@h:o/r"));
        assert!(looks_like_address("/abs/path"));
        assert!(looks_like_address("./rel"));
        assert!(!looks_like_address("origin"));
        assert!(!looks_like_address("upstream-2"));
    }
}
