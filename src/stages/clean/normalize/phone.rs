//! Phone numbers to E.164 with libphonenumber's metadata (the `phonenumber` crate),
//! keeping the type (mobile, fixed line) and any extension.
//!
//! Full-width digits are folded first; letters are refused (libphonenumber would read
//! them as keypad digits); an extension (`转801`, `ext. 801`, `-801` after a landline)
//! is split off; a cell may hold several numbers (all kept, in `_all`, the first valid
//! one is the value) and the name of the person to call (kept in `_contact`). With the
//! record's address, a local landline number gets its city's area code (`_area`).

use std::sync::LazyLock;

use phonenumber::country::Id;
use phonenumber::{Metadata, Mode, PhoneNumber, Type};

use super::{
    Outcome,
    text::{fold, is_cjk},
};

/// A phone cell of a record at `address` (an address or a city, if known): a Chinese
/// landline written without its area code (26543210) takes the area code of the
/// address's city, reported in the extra `area`, when the number is then valid.
pub fn phone(raw: &str, region: Id, address: Option<&str>) -> Outcome {
    let folded = fold(raw);
    let (numbers, contact) = split_contact(&folded);
    // The address is read only when a number needs its area code.
    let area = std::cell::OnceCell::new();
    let area = || *area.get_or_init(|| address.filter(|_| region == Id::CN).and_then(area_code));
    let mut inferred = None;
    let mut found: Vec<(String, String, Option<String>)> = Vec::new();
    let mut first_error = None;
    for part in numbers.split(['/', ';', '；', ',', '，', '、', '|', '或']).map(str::trim).filter(|p| !p.is_empty())
    {
        let mut local = || {
            let area = area()?;
            let number = one(&format!("{area}-{part}"), region).ok()?;
            inferred.get_or_insert(area);
            Some(number)
        };
        match one(part, region).or_else(|e| if is_local(part) { local().ok_or(e) } else { Err(e) }) {
            Ok(number) if !found.iter().any(|f| f.0 == number.0) => found.push(number),
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if found.is_empty() {
        let words = raw.chars().any(char::is_alphabetic);
        return Outcome::invalid(first_error.unwrap_or(if words { "letters" } else { "too_short" }));
    }
    let all = found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>().join(";");
    let (e164, kind, ext) = found.swap_remove(0);
    Outcome::value(e164).with([Some(kind), ext, Some(all), contact, inferred.map(String::from)])
}

/// Seven or eight digits starting 2–8 (an extension aside): a landline's local number.
fn is_local(part: &str) -> bool {
    let (number, _) = split_extension(part);
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    number.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-'))
        && matches!(digits.len(), 7 | 8)
        && matches!(digits.as_bytes()[0], b'2'..=b'8')
}

/// The landline area code of the city an address (or a city's name) is in, from
/// `data/cn_area_codes.csv`: the provincial capitals and the larger cities.
fn area_code(address: &str) -> Option<&'static str> {
    static CODES: LazyLock<rustc_hash::FxHashMap<&'static str, &'static str>> = LazyLock::new(|| {
        include_str!("../../../../data/cn_area_codes.csv").lines().skip(1).filter_map(|l| l.split_once(',')).collect()
    });
    let city = super::address::cn_address(address).extras.get(1).cloned().flatten()?;
    CODES.get(city.as_str()).copied()
}

/// `18804792943（张会计）`, `马会计 +852 2123 4567` → the numbers, and the person named
/// beside them. Chinese text outside an extension marker (转, 分机) is a name.
fn split_contact(cell: &str) -> (std::borrow::Cow<'_, str>, Option<String>) {
    // Most cells hold a number alone.
    if !cell.chars().any(is_cjk) {
        return (std::borrow::Cow::Borrowed(cell), None);
    }
    let mut numbers = String::with_capacity(cell.len());
    let mut name = String::new();
    let mut chars = cell.chars().peekable();
    while let Some(c) = chars.next() {
        let marker = (c == '转') || (c == '分' && chars.peek() == Some(&'机')) || (c == '或');
        if is_cjk(c) && !marker && !(c == '机' && numbers.ends_with('分')) {
            name.push(c);
        } else if matches!(c, '(' | ')' | '（' | '）' | ':' | '：') && !name.is_empty() {
            numbers.push(' ');
        } else {
            numbers.push(c);
        }
    }
    let numbers = numbers.replace("()", " ");
    (std::borrow::Cow::Owned(numbers.trim().to_string()), (name.chars().count() >= 2).then_some(name))
}

/// One number: (E.164, type, extension) or why it is not a number.
fn one(part: &str, region: Id) -> Result<(String, String, Option<String>), &'static str> {
    let (number, ext) = split_extension(part);
    if number.chars().any(char::is_alphabetic) {
        return Err("letters");
    }
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 5 {
        return Err("too_short");
    }
    match parse(number, &digits, region).or_else(|| dash_extension(number, region)) {
        Some((e164, kind, dash_ext)) => Ok((e164, kind, ext.or(dash_ext))),
        None => Err("not_a_valid_number"),
    }
}

/// `0755-12345678转801`, `010 1234 5678 ext. 12`, `x12`, `#12` → (number, extension).
fn split_extension(s: &str) -> (&str, Option<String>) {
    // Most numbers have no marker at all.
    if !s.bytes().any(|b| b.is_ascii_alphabetic() || b == b'#') && !s.contains(['转', '分']) {
        return (s, None);
    }
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

/// Numbers of the default region CN are classified with libphonenumber's own CN
/// descriptors, in its own order (see `validator::number_type` in the crate), after
/// taking the national number off the trunk 0 or the +86/0086 prefix. This skips the
/// crate's general-purpose parser, which costs about 30 µs a number. Anything this
/// cannot confirm goes through the full parser.
fn parse(number: &str, digits: &str, region: Id) -> Option<(String, String, Option<String>)> {
    if let Some(national) = cn_national(number, digits, region)
        && let Some(kind) = classify(national)
    {
        return Some((format!("+86{national}"), type_name(kind).to_string(), None));
    }
    let (n, kind) = library(number, region)?;
    Some((n.format().mode(Mode::E164).to_string(), type_name(kind).to_string(), None))
}

fn cn_national<'a>(number: &str, digits: &'a str, region: Id) -> Option<&'a str> {
    if number.trim_start_matches(['(', ' ']).starts_with('+') {
        return digits.strip_prefix("86");
    }
    if let Some(national) = digits.strip_prefix("0086") {
        return Some(national);
    }
    if region != Id::CN || digits.starts_with("00") {
        return None;
    }
    if digits.len() == 13 && digits.starts_with("861") {
        return Some(&digits[2..]);
    }
    Some(digits.strip_prefix('0').unwrap_or(digits))
}

/// One descriptor of the CN metadata, compiled once. The crate's own `CachedRegex`
/// looks every pattern up in a global mutex-guarded cache on each match, which
/// serializes threads; the semantics are the same: the match must start at the first
/// digit, and the length must be one the descriptor allows.
struct Pattern {
    regex: regex::Regex,
    lengths: Vec<u16>,
}

impl Pattern {
    fn new(d: &phonenumber::metadata::Descriptor) -> Self {
        // The metadata writes patterns across lines, to be read ignoring whitespace.
        let regex = regex::RegexBuilder::new(&format!("^(?:{})", d.national_number().as_str()))
            .ignore_whitespace(true)
            .build()
            .expect("metadata pattern");
        Pattern { regex, lengths: d.possible_length().to_vec() }
    }

    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16))) && self.regex.is_match(national)
    }
}

struct CnPatterns {
    general: Pattern,
    /// In the order libphonenumber tries them.
    special: Vec<(Type, Pattern)>,
    fixed_line: Option<Pattern>,
    mobile: Option<Pattern>,
    fixed_is_mobile: bool,
}

static CN: LazyLock<CnPatterns> = LazyLock::new(|| {
    let meta: &Metadata = phonenumber::metadata::DATABASE.by_id("CN").expect("CN metadata");
    let d = meta.descriptors();
    let kinds = [
        Type::PremiumRate,
        Type::TollFree,
        Type::SharedCost,
        Type::Voip,
        Type::PersonalNumber,
        Type::Pager,
        Type::Uan,
        Type::Voicemail,
    ];
    CnPatterns {
        general: Pattern::new(d.general()),
        special: kinds.into_iter().filter_map(|t| d.get(t).map(|x| (t, Pattern::new(x)))).collect(),
        fixed_line: d.get(Type::FixedLine).map(Pattern::new),
        mobile: d.get(Type::Mobile).map(Pattern::new),
        fixed_is_mobile: d.get(Type::FixedLine).map(|x| x.national_number().as_str())
            == d.get(Type::Mobile).map(|x| x.national_number().as_str()),
    }
});

/// libphonenumber's number type of a CN national number, or None when it is not
/// valid (mirrors `validator::number_type` of the crate).
fn classify(national: &str) -> Option<Type> {
    let p = &*CN;
    if !p.general.is_match(national) {
        return None;
    }
    if let Some((t, _)) = p.special.iter().find(|(_, x)| x.is_match(national)) {
        return Some(*t);
    }
    let mobile = || p.mobile.as_ref().is_some_and(|m| m.is_match(national));
    if p.fixed_line.as_ref().is_some_and(|f| f.is_match(national)) {
        return Some(if p.fixed_is_mobile || mobile() { Type::FixedLineOrMobile } else { Type::FixedLine });
    }
    mobile().then_some(Type::Mobile)
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
        phone(raw, Id::CN, None)
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

    /// The fast path must agree with libphonenumber's own parser on every number,
    /// valid or not: same validity, same type, same E.164.
    #[test]
    fn fast_path_agrees_with_the_library() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut valid = 0;
        for _ in 0..20_000 {
            let national = match rng.random_range(0..3) {
                0 => format!("1{:010}", rng.random_range(0..10_000_000_000u64)),
                1 => format!("{}{:08}", rng.random_range(10..30), rng.random_range(0..100_000_000u32)),
                _ => format!("{}{:07}", rng.random_range(300..999), rng.random_range(0..10_000_000u32)),
            };
            let library =
                library(&format!("+86{national}"), Id::CN).map(|(n, t)| (n.format().mode(Mode::E164).to_string(), t));
            let fast = classify(&national).map(|t| (format!("+86{national}"), t));
            assert_eq!(fast, library, "{national}");
            valid += usize::from(fast.is_some());
            for raw in [format!("0{national}"), format!("+86 {national}"), format!("0086{national}")] {
                let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
                assert_eq!(cn_national(&raw, &digits, Id::CN), Some(national.as_str()), "{raw}");
            }
        }
        assert!(valid > 5_000, "the sample covers valid numbers: {valid}");
    }

    #[test]
    fn cells_with_a_contact_or_several_numbers() {
        let out = cn("18804792943（张会计）");
        assert_eq!(out.value.as_deref(), Some("+8618804792943"));
        assert_eq!(out.extras[3].as_deref(), Some("张会计"));
        let out = cn("马会计 +852 2123 4567");
        assert_eq!(out.value.as_deref(), Some("+85221234567"));
        assert_eq!(out.extras[3].as_deref(), Some("马会计"));
        let out = cn("13800138000 / 0755-26543210转801");
        assert_eq!(out.extras[2].as_deref(), Some("+8613800138000;+8675526543210"));
        assert_eq!(out.extras[1].as_deref(), None, "the extension belongs to the second number");
        let out = cn("无 / 13800138000");
        assert_eq!(out.value.as_deref(), Some("+8613800138000"), "the first valid number is the value");
        let out = cn("0755-26543210 分机 801");
        assert_eq!((out.extras[1].as_deref(), out.extras[3].as_deref()), (Some("801"), None));
    }

    #[test]
    fn a_local_number_takes_the_area_code_of_the_records_city() {
        let near = |raw: &str, address: &str| phone(raw, Id::CN, Some(address));
        let out = near("26543210", "广东省深圳市南山区科技路1号");
        assert_eq!(out.value.as_deref(), Some("+8675526543210"));
        assert_eq!(out.extras[4].as_deref(), Some("0755"), "and says so");
        assert_eq!(near("8765-4321", "北京").value.as_deref(), Some("+861087654321"));
        assert_eq!(near("26543210", "").error, Some("not_a_valid_number"), "no city, no guess");
        assert_eq!(near("26543210", "新华路1号").error, Some("not_a_valid_number"));
        let mobile = near("13800138000", "深圳市");
        assert_eq!((mobile.value.as_deref(), mobile.extras[4].as_deref()), (Some("+8613800138000"), None));
        assert_eq!(cn("26543210").error, Some("not_a_valid_number"), "without an address it stays invalid");
    }

    #[test]
    fn other_regions_and_garbage() {
        assert_eq!(cn("+852 2123 4567").value.as_deref(), Some("+85221234567"), "Hong Kong is not +86");
        assert_eq!(phone("212-555-0123", Id::US, None).value.as_deref(), Some("+12125550123"));
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
