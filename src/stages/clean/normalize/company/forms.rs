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
        ends.iter().rev().copied().find(|&end| cn_form_len(&s[..end]) > 0)
    })
}

/// How many characters of legal form `s` ends with (0 if none), typos included.
fn cn_form_len(s: &str) -> usize {
    if let Some(f) = CN_FORMS.iter().find(|f| s.ends_with(*f)) {
        // A mistyped longer form ending in a correct shorter one (有限功司 ends in 司,
        // 有线公司 in 公司): the longer reading wins.
        let longer =
            CN_FORMS.iter().take_while(|l| *l != f).filter(|l| l.contains("有限")).find_map(|l| mistyped(s, l));
        return longer.unwrap_or_else(|| f.chars().count());
    }
    CN_FORMS.iter().filter(|f| f.contains("有限")).find_map(|f| mistyped(s, f)).unwrap_or(0)
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

/// `s` without a trailing legal form (Chinese, mistyped Chinese, or Latin words).
pub fn strip_legal_form(s: &str) -> &str {
    let s = s.trim_end();
    let n = cn_form_len(s);
    if n > 0 {
        let cut = s.char_indices().rev().nth(n - 1).map_or(0, |(i, _)| i);
        return &s[..cut];
    }
    let mut end = s.len();
    loop {
        let head = s[..end].trim_end_matches(|c: char| !c.is_alphanumeric());
        let word_start =
            head.char_indices().rev().find(|(_, c)| !c.is_alphanumeric()).map_or(0, |(i, c)| i + c.len_utf8());
        if word_start > 0 && EN_FORMS.contains(&&head[word_start..]) {
            end = word_start;
        } else {
            return &s[..end];
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
            assert_eq!(strip_legal_form(name), "华信科技", "{name}");
        }
        assert_eq!(strip_legal_form("华信科技无限公司"), "华信科技无限", "the first character must be right");
        assert_eq!(strip_legal_form("有线公司"), "有线", "a mistyped form needs a name before it");
    }

    #[test]
    fn foreign_forms_are_forms() {
        for name in ["ACME PRIVATE LIMITED", "ACME SA", "ACME PTY LTD", "ACME GMBH & CO KG", "ACME PVT LTD"] {
            assert_eq!(strip_legal_form(name).trim_end(), "ACME", "{name}");
        }
    }
}
