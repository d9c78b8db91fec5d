//! E-mail addresses: folded, lower-cased, `mailto:` dropped, checked for a plausible shape.

use super::{Outcome, text::fold};

pub fn email(raw: &str) -> Outcome {
    let folded = fold(raw).to_lowercase();
    let s = folded.strip_prefix("mailto:").unwrap_or(&folded).trim().trim_end_matches('.');
    let Some((local, domain)) = s.split_once('@') else { return Outcome::invalid("no_at_sign") };
    let local_ok = !local.is_empty() && local.chars().all(|c| c.is_alphanumeric() || "._%+-'".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && !l.starts_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if !local_ok || !domain_ok || local.starts_with('.') || local.ends_with('.') {
        return Outcome::invalid("bad_email");
    }
    Outcome::value(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for (raw, want) in [
            ("Sales@Example.COM", "sales@example.com"),
            (" mailto:info@acme.cn ", "info@acme.cn"),
            ("ｆｉｎａｎｃｅ＠ｃｏｒｐ．ｃｏｍ", "finance@corp.com"),
            ("a.b+tag@mail.example.co.uk.", "a.b+tag@mail.example.co.uk"),
        ] {
            assert_eq!(email(raw).value.as_deref(), Some(want), "{raw}");
        }
        for bad in ["no-at-sign", "a@b", "@example.com", "a@@b.com", "a b@c.com", "x@-bad.com", ".a@b.com"] {
            assert!(email(bad).error.is_some(), "{bad}");
        }
    }
}
