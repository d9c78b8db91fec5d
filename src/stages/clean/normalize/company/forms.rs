//! Legal forms: the words that say what kind of legal person a name is, dropped from
//! the match key. Chinese forms are also recognized with one character mistyped
//! (有限功司, 有线公司), as pinyin input methods and hurried typing leave them.

/// Chinese legal forms, longest first so 股份有限公司 wins over 有限公司.
const CN_FORMS: [&str; 9] = [
    "集团股份有限公司",
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "总公司",
    "公司",
];

/// English and other Latin-script legal-form words, dropped from the end of the key
/// (`GmbH & Co. KG`, `Pty Ltd`, `Private Limited`, `S.A.` once its dots are gone).
const EN_FORMS: [&str; 31] = [
    "CO",
    "COMPANY",
    "LTD",
    "LIMITED",
    "INC",
    "INCORPORATED",
    "CORP",
    "CORPORATION",
    "LLC",
    "LLP",
    "LP",
    "GMBH",
    "KG",
    "AG",
    "PLC",
    "SA",
    "SAS",
    "SARL",
    "SRL",
    "SPA",
    "BV",
    "NV",
    "PTE",
    "PTY",
    "PVT",
    "PRIVATE",
    "BHD",
    "SDN",
    "KK",
    "AB",
    "OY",
];

/// Where the last Chinese legal form in `s` ends, mistyped or not.
pub fn cn_form_end(s: &str) -> Option<usize> {
    let exact = CN_FORMS.iter().filter_map(|f| s.rfind(f).map(|i| i + f.len())).max();
    exact.or_else(|| {
        // A typo'd 有限公司 inside a name: check every position where four characters end.
        let ends: Vec<usize> = s.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
        ends.iter().rev().copied().find(|&end| cn_form(&s[..end]).is_some())
    })
}

/// The Chinese legal form `s` ends with, typos included, and how many characters of
/// `s` it takes.
fn cn_form(s: &str) -> Option<(&'static str, usize)> {
    let mistyped = |f: &&'static str| mistyped(s, f).map(|n| (*f, n));
    if let Some(f) = CN_FORMS.iter().find(|f| s.ends_with(*f)) {
        // A mistyped longer form ending in a correct shorter one (有限功司 ends in 司,
        // 有线公司 in 公司): the longer reading wins.
        let longer = CN_FORMS.iter().take_while(|l| *l != f).filter(|l| l.contains("有限")).find_map(mistyped);
        return Some(longer.unwrap_or((f, f.chars().count())));
    }
    CN_FORMS.iter().filter(|f| f.contains("有限")).find_map(mistyped)
}

/// The kind of legal person a Chinese legal form states, by the Company Law's two
/// kinds: 股份有限公司 (股份公司 alike) or 有限责任公司 (有限公司, 集团有限公司 alike);
/// None for other forms (公司, 总公司).
fn kind(form: &str) -> Option<&'static str> {
    match form {
        f if f.contains("股份") => Some("股份有限公司"),
        f if f.contains("有限") => Some("有限责任公司"),
        _ => None,
    }
}

/// `s` ends with `form` but for one substituted character (not the first, since
/// 有限公司 after a name's last word should not swallow it): the form's length.
fn mistyped(s: &str, form: &str) -> Option<usize> {
    let n = form.chars().count();
    let mut tail = s.chars().rev();
    let mut differ = 0;
    for f in form.chars().rev() {
        let c = tail.next()?;
        differ += usize::from(c != f);
        if differ > 1 {
            return None;
        }
    }
    // The form's first character typed right, and a name before it.
    let first_same = s.chars().rev().nth(n - 1) == form.chars().next();
    (differ == 1 && first_same && tail.next().is_some()).then_some(n)
}

/// `s` without a trailing legal form (Chinese, mistyped Chinese, or Latin words), and
/// the kind of legal person a Chinese form states. A Latin form states none, since
/// English names write both kinds as "Co., Ltd.".
pub fn strip_legal_form(s: &str) -> (&str, Option<&'static str>) {
    let s = s.trim_end();
    if let Some((form, n)) = cn_form(s) {
        let cut = s.char_indices().rev().nth(n - 1).map_or(0, |(i, _)| i);
        return (&s[..cut], kind(form));
    }
    let mut end = s.len();
    loop {
        let head = s[..end].trim_end_matches(|c: char| !c.is_alphanumeric());
        let word_start =
            head.char_indices().rev().find(|(_, c)| !c.is_alphanumeric()).map_or(0, |(i, c)| i + c.len_utf8());
        if word_start > 0 && EN_FORMS.contains(&&head[word_start..]) {
            end = word_start;
        } else {
            return (&s[..end], None);
        }
    }
}

/// Where the last whole Latin legal-form word in `s` ends, if any.
pub fn en_form_end(s: &str) -> Option<usize> {
    EN_FORMS.iter().filter_map(|f| word_end(s, f)).max()
}

/// Where the last whole-word occurrence of `word` in `s` ends.
fn word_end(s: &str, word: &str) -> Option<usize> {
    let is_word = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    s.match_indices(word)
        .filter(|(i, _)| is_word(s[..*i].chars().next_back()) && is_word(s[i + word.len()..].chars().next()))
        .map(|(i, _)| i + word.len())
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistyped_forms_are_forms() {
        for name in ["华信科技有限功司", "华信科技有限公思", "华信科技有线公司", "华信科技有限责任功司"]
        {
            assert_eq!(strip_legal_form(name).0, "华信科技", "{name}");
        }
        assert_eq!(strip_legal_form("华信科技无限公司").0, "华信科技无限", "the first character must be right");
        assert_eq!(strip_legal_form("有线公司").0, "有线", "a mistyped form needs a name before it");
    }

    #[test]
    fn the_kind_of_legal_person() {
        for (name, kind) in [
            ("华信科技有限公司", Some("有限责任公司")),
            ("华信科技有限责任公司", Some("有限责任公司")),
            ("华信科技集团有限公司", Some("有限责任公司")),
            ("华信科技有线公司", Some("有限责任公司")),
            ("华信科技股份有限公司", Some("股份有限公司")),
            ("华信科技股份公司", Some("股份有限公司")),
            ("华信科技集团股份有限公司", Some("股份有限公司")),
            ("华信科技股分有限公司", Some("股份有限公司")),
            ("华信科技公司", None),
            ("辉福烟酒商行", None),
            ("HUAXIN TECHNOLOGY CO LTD", None),
        ] {
            assert_eq!(strip_legal_form(name).1, kind, "{name}");
        }
    }

    #[test]
    fn foreign_forms_are_forms() {
        for name in ["ACME PRIVATE LIMITED", "ACME SA", "ACME PTY LTD", "ACME GMBH & CO KG", "ACME PVT LTD"] {
            assert_eq!(strip_legal_form(name).0.trim_end(), "ACME", "{name}");
        }
    }
}
