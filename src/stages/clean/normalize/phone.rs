//! Phone numbers to E.164 with libphonenumber's metadata (the `phonenumber` crate),
//! keeping the type (mobile, fixed line) and any extension.
//!
//! Full-width digits are folded first; letters are refused (libphonenumber would read
//! them as keypad digits); an extension (`转801`, `ext. 801`, `-801` after a landline)
//! is split off; of a cell holding several numbers the first is taken.

use std::cell::RefCell;
use std::collections::HashMap;

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber, Type};

use super::{Outcome, text::fold};

pub fn phone(raw: &str, region: Id) -> Outcome {
    let folded = fold(raw);
    let first =
        folded.split(['/', ';', '；', ',', '，', '、', '|']).map(str::trim).find(|p| !p.is_empty()).unwrap_or("");
    let (number, ext) = split_extension(first);
    if number.chars().any(char::is_alphabetic) {
        return Outcome::invalid("letters");
    }
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 5 {
        return Outcome::invalid("too_short");
    }
    match parse(number, &digits, region).or_else(|| dash_extension(number, region)) {
        Some((e164, kind, dash_ext)) => Outcome::value(e164).with([Some(kind), ext.or(dash_ext)]),
        None => Outcome::invalid("not_a_valid_number"),
    }
}

/// `0755-12345678转801`, `010 1234 5678 ext. 12`, `x12`, `#12` → (number, extension).
fn split_extension(s: &str) -> (&str, Option<String>) {
    let lower = s.to_ascii_lowercase();
    for marker in ["转", "分机", "ext.", "ext", "x", "#"] {
        if let Some(i) = lower.rfind(marker) {
            let ext: String = s[i + marker.len()..].trim().trim_start_matches([':', '.']).trim().to_string();
            if !ext.is_empty() && ext.len() <= 6 && ext.bytes().all(|b| b.is_ascii_digit()) {
                return (s[..i].trim_end_matches(['-', ' ', ',']), Some(ext));
            }
        }
    }
    (s, None)
}

/// `010-12345678-801`: a trailing group of 1–5 digits after a dash that leaves a valid
/// number is an extension.
fn dash_extension(number: &str, region: Id) -> Option<(String, String, Option<String>)> {
    let (main, tail) = number.rsplit_once('-')?;
    if tail.is_empty() || tail.len() > 5 || !tail.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = main.chars().filter(char::is_ascii_digit).collect();
    let (e164, kind, _) = parse(main, &digits, region)?;
    Some((e164, kind, Some(tail.to_string())))
}

thread_local! {
    /// libphonenumber's verdict on a Chinese mobile number depends only on its first
    /// seven digits (号段); caching by them keeps a million numbers fast.
    static MOBILE_PREFIXES: RefCell<HashMap<u64, Option<Type>>> = RefCell::new(HashMap::new());
}

fn parse(number: &str, digits: &str, region: Id) -> Option<(String, String, Option<String>)> {
    let national = digits.strip_prefix("0086").or_else(|| digits.strip_prefix("86")).filter(|d| d.len() == 11);
    let mobile = national
        .or((digits.len() == 11).then_some(digits))
        .filter(|d| d.starts_with('1') && matches!(d.as_bytes()[1], b'3'..=b'9'));
    let cn_context = region == Id::CN || number.trim_start().starts_with("+86") || digits.starts_with("0086");
    if let (Some(m), true) = (mobile, cn_context) {
        let prefix: u64 = m[..7].parse().ok()?;
        let kind = MOBILE_PREFIXES
            .with(|cache| *cache.borrow_mut().entry(prefix).or_insert_with(|| library(m, Id::CN).map(|(_, t)| t)))?;
        return Some((format!("+86{m}"), type_name(kind).to_string(), None));
    }
    let (n, kind) = library(number, region)?;
    Some((n.format().mode(Mode::E164).to_string(), type_name(kind).to_string(), None))
}

fn library(number: &str, region: Id) -> Option<(PhoneNumber, Type)> {
    let n = phonenumber::parse(Some(region), number).ok()?;
    if !phonenumber::is_valid(&n) {
        return None;
    }
    let kind = n.number_type(&phonenumber::metadata::DATABASE);
    Some((n, kind))
}

fn type_name(t: Type) -> &'static str {
    match t {
        Type::Mobile => "mobile",
        Type::FixedLine => "fixed_line",
        Type::FixedLineOrMobile => "fixed_line_or_mobile",
        Type::TollFree => "toll_free",
        Type::PremiumRate => "premium_rate",
        Type::Voip => "voip",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn(raw: &str) -> Outcome {
        phone(raw, Id::CN)
    }

    #[test]
    fn chinese_mobiles_in_every_export_format() {
        for raw in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+86-13800138000",
            "0086 13800138000",
            "(+86)138-0013-8000",
            "８６１３８００１３８０００",
            "１３８００１３８０００",
            "13800138000 / 13900139000",
        ] {
            let out = cn(raw);
            assert_eq!(out.value.as_deref(), Some("+8613800138000"), "{raw}");
            assert_eq!(out.extras[0].as_deref(), Some("mobile"), "{raw}");
        }
    }

    #[test]
    fn landlines_with_area_codes_and_extensions() {
        for (raw, e164, ext) in [
            ("010-12345678", "+861012345678", None),
            ("(010) 1234 5678", "+861012345678", None),
            ("+86 10 12345678", "+861012345678", None),
            ("0755-26543210", "+8675526543210", None),
            ("075526543210", "+8675526543210", None),
            ("0755-26543210转801", "+8675526543210", Some("801")),
            ("0755-26543210 ext. 12", "+8675526543210", Some("12")),
            ("010-12345678-801", "+861012345678", Some("801")),
        ] {
            let out = cn(raw);
            assert_eq!(out.value.as_deref(), Some(e164), "{raw}");
            assert_eq!(out.extras[0].as_deref(), Some("fixed_line"), "{raw}");
            assert_eq!(out.extras[1].as_deref(), ext, "{raw}");
        }
    }

    #[test]
    fn other_regions_and_garbage() {
        assert_eq!(cn("+852 2123 4567").value.as_deref(), Some("+85221234567"), "Hong Kong is not +86");
        assert_eq!(phone("212-555-0123", Id::US).value.as_deref(), Some("+12125550123"));
        assert_eq!(cn("1380013800O").error, Some("letters"), "keypad letters are refused");
        assert_eq!(cn("12345678").error, Some("not_a_valid_number"));
        assert_eq!(cn("无").error, Some("letters"));
        assert_eq!(cn("123").error, Some("too_short"));
        assert_eq!(cn("00000000000").error, Some("not_a_valid_number"));
        assert_eq!(
            cn("12000000000").error,
            Some("not_a_valid_number"),
            "12 is neither a mobile block nor an area code"
        );
    }
}
