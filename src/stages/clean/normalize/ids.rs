//! Identifiers with check characters: the unified social credit code (统一社会信用代码,
//! GB 32100-2015) and the resident identity number (公民身份号码, GB 11643-1999).

use chrono::NaiveDate;

use super::{Outcome, text::fold};

const USCC_CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The GB 32100 check character of the first 17 characters, if they use the charset.
fn uscc_check(body: &[u8]) -> Option<u8> {
    let mut sum = 0usize;
    let mut weight = 1usize;
    for &c in body {
        sum += USCC_CHARSET.iter().position(|&x| x == c)? * weight;
        weight = weight * 3 % 31;
    }
    Some(USCC_CHARSET[(31 - sum % 31) % 31])
}

/// The ISO 7064 MOD 11-2 check character of a resident id's first 17 digits.
fn resident_check(body: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    let mut weight = 1u32;
    for &c in body.iter().rev() {
        weight = weight * 2 % 11;
        sum += (c as char).to_digit(10)? * weight;
    }
    Some(b"10X98765432"[(sum % 11) as usize])
}

fn compact(raw: &str) -> String {
    fold(raw).chars().filter(|c| !matches!(c, ' ' | '-')).flat_map(char::to_uppercase).collect()
}

/// A tax id column: a checked USCC, else a legacy 15- or 20-character taxpayer id
/// (kept, marked `legacy`), else invalid. Extras: `kind`, and `key`, on which a
/// legacy 15-character id and the USCC it became agree: the USCC's characters 3–17
/// (division code and organization code) are the old id.
pub fn uscc(raw: &str) -> Outcome {
    let s = compact(raw);
    let b = s.as_bytes();
    if b.len() == 18 && b.iter().all(|c| USCC_CHARSET.contains(c)) {
        return match uscc_check(&b[..17]) {
            Some(check) if check == b[17] => {
                let key = s[2..17].to_string();
                Outcome::value(s).with([Some("uscc".into()), Some(key)])
            }
            _ => Outcome::invalid("bad_check_character"),
        };
    }
    if b.len() == 18 {
        return Outcome::invalid("bad_characters");
    }
    if matches!(b.len(), 15 | 20) && b.iter().all(u8::is_ascii_alphanumeric) {
        return Outcome::value(s.clone()).with([Some("legacy".into()), Some(s)]);
    }
    Outcome::invalid("bad_length")
}

/// A resident id: 18 characters with a valid birth date and check character; an old
/// 15-digit id is upgraded to 18 (century 19 inserted, check computed).
pub fn resident_id(raw: &str) -> Outcome {
    let mut s = compact(raw);
    if s.len() == 15 && s.bytes().all(|c| c.is_ascii_digit()) {
        let body = format!("{}19{}", &s[..6], &s[6..]);
        let check = resident_check(body.as_bytes()).expect("digits");
        s = format!("{body}{}", check as char);
    }
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return Outcome::invalid("bad_length");
    }
    let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").ok();
    if birth.is_none_or(|d| d.format("%Y%m%d").to_string() != s[6..14]) {
        return Outcome::invalid("bad_birth_date");
    }
    if resident_check(&b[..17]) != Some(b[17]) {
        return Outcome::invalid("bad_check_character");
    }
    Outcome::value(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uscc_check_characters_from_the_standard_and_real_codes() {
        for ok in [
            "91110000600037341L",
            "91310115MA1K3BTP2B",
            "91350100M000100Y43",
            " 9131 0115 ma1k3btp2b ",
            "９１１１００００６０００３７３４１Ｌ",
        ] {
            let out = uscc(ok);
            assert!(out.error.is_none(), "{ok}: {:?}", out.error);
            assert_eq!(out.extras[0].as_deref(), Some("uscc"));
        }
        assert_eq!(uscc("91310115ma1k3btp2b").value.as_deref(), Some("91310115MA1K3BTP2B"));
        assert_eq!(uscc("91110000600037341N").error, Some("bad_check_character"));
        assert_eq!(uscc("91350100M000100Y4Z").error, Some("bad_characters"), "Z is not in the charset");
        assert_eq!(uscc("9111000060003IOZSV").error, Some("bad_characters"));
        assert_eq!(uscc("110105600037341").extras[0].as_deref(), Some("legacy"));
        assert_eq!(uscc("12345").error, Some("bad_length"));
    }

    #[test]
    fn a_legacy_id_and_the_uscc_it_became_share_a_key() {
        // 91110000600037341L was issued to the taxpayer registered as 110000600037341.
        let new = uscc("91110000600037341L");
        let old = uscc("110000600037341");
        assert_eq!(new.extras[1].as_deref(), Some("110000600037341"));
        assert_eq!(old.extras[1], new.extras[1]);
        assert_ne!(uscc("91310115MA1K3BTP2B").extras[1], new.extras[1]);
    }

    #[test]
    fn resident_ids() {
        assert_eq!(resident_id("11010519491231002x").value.as_deref(), Some("11010519491231002X"));
        assert_eq!(resident_id("110105194912310021").error, Some("bad_check_character"));
        assert_eq!(resident_id("110105194902300021").error, Some("bad_birth_date"));
        assert_eq!(resident_id("110105491231002").value.as_deref(), Some("11010519491231002X"), "15 → 18 digits");
        assert_eq!(resident_id("1101051949").error, Some("bad_length"));
    }
}
