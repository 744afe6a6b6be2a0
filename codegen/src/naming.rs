//! Go names as each target spells them, keeping Go's initialisms whole: `userIDs` → `user_ids`,
//! `CreateOAuthApp` → `create_oauth_app`, `ChimeraOAuthProxyURL` → `chimera_oauth_proxy_url`.
//!
//! heck alone splits an initialism's plural and `OAuth` letter by letter (`user_i_ds`,
//! `create_o_auth_app`); the names are first rewritten so each initialism reads as one word, then
//! cased by heck. Every emitter that turns a Go name into a snake-case name uses this module.

/// Mixed-case initialisms heck would split, spelled as one capitalised word.
const WHOLE_WORDS: &[(&str, &str)] = &[("OAuth", "Oauth"), ("VoIP", "Voip")];

/// `snake_case` for a Go identifier or a JSON key.
pub fn snake(name: &str) -> String {
    heck::AsSnakeCase(one_word_initialisms(name)).to_string()
}

/// Rewrites `IDs`, `URLs`, `APIs` … (an upper-case run plus a plural `s` that ends a word) and
/// the [`WHOLE_WORDS`] as capitalised words, which heck keeps together.
fn one_word_initialisms(name: &str) -> String {
    let mut name = name.to_string();
    for (from, to) in WHOLE_WORDS {
        name = name.replace(from, to);
    }
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_uppercase() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_uppercase() {
                i += 1;
            }
            let run = &chars[start..i];
            let plural = run.len() >= 2
                && chars.get(i) == Some(&'s')
                && chars
                    .get(i + 1)
                    .is_none_or(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_');
            if plural {
                out.push(run[0]);
                out.extend(run[1..].iter().map(|c| c.to_ascii_lowercase()));
            } else {
                out.extend(run);
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake;

    #[test]
    fn initialisms_stay_whole() {
        for (go, want) in [
            ("userIDs", "user_ids"),
            ("UserIDs", "user_ids"),
            ("includeMemberIDs", "include_member_ids"),
            ("targetIDs", "target_ids"),
            ("GetUsersByIds", "get_users_by_ids"),
            ("GetUsersByIDs", "get_users_by_ids"),
            ("CreateOAuthApp", "create_oauth_app"),
            ("ChimeraOAuthProxyURL", "chimera_oauth_proxy_url"),
            (
                "EnableOutgoingOAuthConnections",
                "enable_outgoing_oauth_connections",
            ),
            ("SiteURLs", "site_urls"),
            ("APIsEnabled", "apis_enabled"),
            ("ServeHTTP", "serve_http"),
            ("HTTPSettings", "http_settings"),
            ("KVSetWithOptions", "kv_set_with_options"),
            ("GetLDAPUserAttributes", "get_ldap_user_attributes"),
            ("OnSAMLLogin", "on_saml_login"),
            ("MFAEnabled", "mfa_enabled"),
            ("JSONBody", "json_body"),
            ("PushTransportVoIP", "push_transport_voip"),
            ("user_id", "user_id"),
            ("Status", "status"),
            ("s", "s"),
            ("IDs", "ids"),
            ("Is", "is"),
        ] {
            assert_eq!(snake(go), want, "{go}");
        }
    }
}
