//! Semantic versions as the Mattermost server reads them: manifest versions strictly
//! (`MAJOR.MINOR.PATCH[-PRE][+BUILD]`, no leading `v`, no leading zeros), its own version leniently.

use std::cmp::Ordering;

/// The server refuses longer version strings outright.
const MAX_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    /// Pre-release identifiers; build metadata is dropped because it never affects precedence.
    pre: Vec<Ident>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ident {
    Num(u64),
    /// Alphanumeric, or a numeric identifier too large for u64 (the server compares those as text).
    Text(String),
}

impl Ident {
    fn new(s: &str) -> Ident {
        match s.parse() {
            Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) => Ident::Num(n),
            _ => Ident::Text(s.to_string()),
        }
    }
}

impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Ident::Num(a), Ident::Num(b)) => a.cmp(b),
            (Ident::Num(_), Ident::Text(_)) => Ordering::Less,
            (Ident::Text(_), Ident::Num(_)) => Ordering::Greater,
            (Ident::Text(a), Ident::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                // A release ranks above any of its pre-releases.
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // Identifier by identifier; a shorter list that is a prefix ranks lower.
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn numeric_part(part: &str, what: &str) -> Result<u64, String> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {part:?} is not a number"));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(format!("{what} {part:?} has a leading zero"));
    }
    part.parse()
        .map_err(|_| format!("{what} {part:?} is too large"))
}

fn pre_release(pre: &str) -> Result<Vec<Ident>, String> {
    pre.split('.')
        .map(|id| {
            if id.is_empty() || !id.bytes().all(is_ident_char) {
                return Err(format!(
                    "pre-release identifier {id:?} must be non-empty ASCII letters, digits or '-'"
                ));
            }
            if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "numeric pre-release identifier {id:?} has a leading zero"
                ));
            }
            Ok(Ident::new(id))
        })
        .collect()
}

fn build_metadata(build: &str) -> Result<(), String> {
    for id in build.split('.') {
        if id.is_empty() || !id.bytes().all(is_ident_char) {
            return Err(format!(
                "build identifier {id:?} must be non-empty ASCII letters, digits or '-'"
            ));
        }
    }
    Ok(())
}

/// Splits `core[-pre][+build]` the way the server does: build first, then pre-release.
fn split_extras(s: &str) -> Result<(&str, Vec<Ident>), String> {
    let (rest, build) = match s.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (s, None),
    };
    if let Some(build) = build {
        build_metadata(build)?;
    }
    match rest.split_once('-') {
        Some((core, pre)) => Ok((core, pre_release(pre)?)),
        None => Ok((rest, Vec::new())),
    }
}

/// A manifest's `version` or `min_server_version`: strict semantic versioning.
pub(super) fn parse_strict(s: &str) -> Result<Version, String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > MAX_LEN {
        return Err(format!("it is longer than {MAX_LEN} bytes"));
    }
    // The server splits off MAJOR and MINOR first, so a `-` or `+` before the second dot is part
    // of a number and refused.
    let mut parts = s.splitn(3, '.');
    let (Some(major), Some(minor), Some(tail)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected MAJOR.MINOR.PATCH".into());
    };
    let (patch, pre) = split_extras(tail)?;
    Ok(Version {
        major: numeric_part(major, "major version")?,
        minor: numeric_part(minor, "minor version")?,
        patch: numeric_part(patch, "patch version")?,
        pre,
    })
}

/// The server's own version: a leading `v` and missing MINOR/PATCH are tolerated, as the server
/// does for the version it reports.
pub(super) fn parse_lenient(s: &str) -> Result<Version, String> {
    if s.len() > MAX_LEN {
        return Err(format!("it is longer than {MAX_LEN} bytes"));
    }
    let s = s.strip_prefix('v').unwrap_or(s);
    let (core, pre) = split_extras(s)?;
    let mut numbers = [0u64; 3];
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 {
        return Err("expected at most MAJOR.MINOR.PATCH".into());
    }
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{part:?} is not a number"));
        }
        *slot = part.parse().map_err(|_| format!("{part:?} is too large"))?;
    }
    Ok(Version {
        major: numbers[0],
        minor: numbers[1],
        patch: numbers[2],
        pre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_accepts_semver_only() {
        for ok in [
            "0.0.0",
            "1.2.3",
            "10.20.30",
            "1.2.3-rc.1",
            "1.2.3-0.alpha-1",
            "1.2.3+build.7",
            "1.2.3-rc+b-1",
        ] {
            assert!(parse_strict(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "v1.2.3",
            "1.2",
            "1",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "1.2.3-",
            "1.2.3-01",
            "1.2.3-a..b",
            "1.2.3+",
            "1.2.3+a_b",
            "1.2-rc.3",
            "1.2.3.4",
            " 1.2.3",
            "1.2.x",
            "99999999999999999999.0.0",
        ] {
            assert!(parse_strict(bad).is_err(), "{bad}");
        }
        assert!(parse_strict(&format!("1.2.3-{}", "a".repeat(300))).is_err());
    }

    #[test]
    fn lenient_takes_the_servers_own_forms() {
        assert_eq!(
            parse_lenient("v11.1").unwrap(),
            parse_strict("11.1.0").unwrap()
        );
        assert_eq!(parse_lenient("9").unwrap(), parse_strict("9.0.0").unwrap());
        assert!(parse_lenient("nine").is_err());
        assert!(parse_lenient("1.2.3.4").is_err());
    }

    #[test]
    fn precedence() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            let (a, b) = (
                parse_strict(pair[0]).unwrap(),
                parse_strict(pair[1]).unwrap(),
            );
            assert!(a < b, "{} < {}", pair[0], pair[1]);
        }
        // Build metadata never changes precedence.
        assert_eq!(
            parse_strict("1.0.0+a")
                .unwrap()
                .cmp(&parse_strict("1.0.0+b").unwrap()),
            Ordering::Equal
        );
    }
}
