//! Mattermost's input rules for names and emails, and page/per-page slicing.
//!
//! The server expresses these rules as regular expressions in `model/`; here they are plain
//! character checks with the same outcome.

/// Usernames Mattermost refuses outright (they collide with @-mentions).
const RESTRICTED_USERNAMES: &[&str] = &["all", "channel", "matterbot", "system"];

/// Team names may not start with these (they are URL paths of the web app).
const RESERVED_NAME_PREFIXES: &[&str] = &[
    "admin",
    "api",
    "channel",
    "claim",
    "error",
    "files",
    "help",
    "landing",
    "login",
    "mfa",
    "oauth",
    "plug",
    "plugins",
    "post",
    "signup",
    "boards",
    "playbooks",
];

pub(super) const USERNAME_MAX_LEN: usize = 64;
pub(super) const EMAIL_MAX_LEN: usize = 128;
pub(super) const TEAM_NAME_MIN_LEN: usize = 2;
pub(super) const TEAM_NAME_MAX_LEN: usize = 64;
pub(super) const CHANNEL_NAME_MAX_LEN: usize = 64;
pub(super) const DISPLAY_NAME_MAX_RUNES: usize = 64;

/// Number of Unicode scalar values, which is what Go's `utf8.RuneCountInString` counts.
pub(super) fn runes(s: &str) -> usize {
    s.chars().count()
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `model.IsValidUsername`: 1–64 of `a-z 0-9 . - _`, and not a restricted word.
pub(super) fn is_valid_username(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= USERNAME_MAX_LEN
        && s.chars()
            .all(|c| is_lower_alnum(c) || matches!(c, '.' | '-' | '_'))
        && !RESTRICTED_USERNAMES.contains(&s)
}

/// A plain, lowercase `local@domain` address (no display name, no angle brackets).
pub(super) fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:\"@".contains(c))
    };
    s.len() <= EMAIL_MAX_LEN && s == s.to_lowercase() && plain(local) && plain(domain)
}

/// Team URL names: lowercase letters, digits and hyphens, starting and ending with a letter or
/// digit; or two such runs joined by a double underscore. At least two characters.
pub(super) fn is_valid_team_name(s: &str) -> bool {
    if s.len() < TEAM_NAME_MIN_LEN || s.len() > TEAM_NAME_MAX_LEN {
        return false;
    }
    if let Some((left, right)) = s.split_once("__") {
        let run = |part: &str| !part.is_empty() && part.chars().all(is_lower_alnum);
        return run(left) && run(right);
    }
    let edges_ok = s.starts_with(is_lower_alnum) && s.ends_with(is_lower_alnum);
    edges_ok && s.chars().all(|c| is_lower_alnum(c) || c == '-')
}

/// `model.IsReservedTeamName`: the name starts with a reserved word.
pub(super) fn is_reserved_team_name(s: &str) -> bool {
    let lower = s.to_lowercase();
    RESERVED_NAME_PREFIXES
        .iter()
        .any(|prefix| lower.starts_with(prefix))
}

/// Channel names: a lowercase letter or digit, then letters, digits, `-` or `_`.
pub(super) fn is_valid_channel_name(s: &str) -> bool {
    s.len() <= CHANNEL_NAME_MAX_LEN
        && s.starts_with(is_lower_alnum)
        && s.chars()
            .all(|c| is_lower_alnum(c) || matches!(c, '-' | '_'))
}

/// The `page`-th slice of `per_page` items, as SQL `LIMIT per_page OFFSET page*per_page`
/// would return it. Negative values select nothing instead of failing.
pub(super) fn paginate<T>(items: impl IntoIterator<Item = T>, page: i64, per_page: i64) -> Vec<T> {
    let (Ok(page), Ok(per_page)) = (usize::try_from(page), usize::try_from(per_page)) else {
        return Vec::new();
    };
    items
        .into_iter()
        .skip(page.saturating_mul(per_page))
        .take(per_page)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(is_valid_username("alice.b-c_d9"));
        assert!(!is_valid_username(""));
        assert!(!is_valid_username("Alice"));
        assert!(!is_valid_username("all"));
        assert!(!is_valid_username(&"a".repeat(65)));
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("a.b@example.com"));
        assert!(!is_valid_email("A@example.com"));
        assert!(!is_valid_email("<a@example.com>"));
        assert!(!is_valid_email("a@@example.com"));
        assert!(!is_valid_email("example.com"));
    }

    #[test]
    fn team_names() {
        assert!(is_valid_team_name("my-team"));
        assert!(is_valid_team_name("ab__cd"));
        assert!(!is_valid_team_name("a"));
        assert!(!is_valid_team_name("-team"));
        assert!(!is_valid_team_name("my_team"));
        assert!(is_reserved_team_name("Admin-team"));
    }

    #[test]
    fn channel_names() {
        assert!(is_valid_channel_name("town-square"));
        assert!(is_valid_channel_name("a_b"));
        assert!(!is_valid_channel_name("_a"));
        assert!(!is_valid_channel_name("Town"));
        assert!(!is_valid_channel_name(""));
    }

    #[test]
    fn paging() {
        assert_eq!(paginate(0..10, 1, 3), vec![3, 4, 5]);
        assert_eq!(paginate(0..10, 3, 3), vec![9]);
        assert!(paginate(0..10, -1, 3).is_empty());
        assert!(paginate(0..10, i64::MAX, i64::MAX).is_empty());
    }
}
