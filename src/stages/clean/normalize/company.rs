//! Company names: a display form and a match key.
//!
//! Display: width-folded, spaces collapsed (and removed next to Chinese characters).
//! Key: traditional characters simplified (OpenCC t2s: 臺灣積體電路 → 台湾积体电路);
//! upper-cased; brackets unified; a place in brackets or at the start moved out
//! (深圳华信科技有限公司, 华信科技(深圳)有限公司 and 华信科技有限公司 share the key
//! 华信科技); the legal form dropped (有限公司 = 有限责任公司, Co., Ltd. = Limited);
//! punctuation and spaces removed. A branch (分公司) keeps its parent's key plus its
//! own marker, so it never shares a key with its parent.
//! Extras: `key`, `branch` (e.g. 北京分公司), `place` (the place moved out).

use std::sync::LazyLock;

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;

use super::divisions::{DIVISIONS, longest_prefix};
use super::{
    Outcome,
    text::{fold, join_cjk},
};

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
/// English legal-form words, dropped from the end of the key.
const EN_FORMS: [&str; 16] = [
    "CO",
    "COMPANY",
    "LTD",
    "LIMITED",
    "INC",
    "INCORPORATED",
    "CORP",
    "CORPORATION",
    "LLC",
    "GMBH",
    "AG",
    "PLC",
    "SA",
    "BV",
    "PTE",
    "PTY",
];
const BRANCH_MARKERS: [&str; 6] = ["分公司", "分厂", "分店", "办事处", "营业部", "分部"];

pub fn company_name(raw: &str) -> Outcome {
    let display = join_cjk(&fold(raw));
    if display.is_empty() {
        return Outcome::invalid("empty");
    }
    if !display.chars().any(char::is_alphabetic) {
        return Outcome::invalid("not_a_name");
    }
    let upper: String = simplified(&display)
        .to_uppercase()
        .chars()
        .map(|c| match c {
            '【' | '〔' | '[' | '{' | '（' => '(',
            '】' | '〕' | ']' | '}' | '）' => ')',
            c => c,
        })
        .collect();
    let (parent, branch) = split_branch(&upper);
    let (parent_key, place) = key_of(parent);
    if parent_key.is_empty() {
        return Outcome::invalid("no_name_left");
    }
    let branch_key = branch.map(|b| squash(&b));
    let key = match &branch_key {
        Some(b) => format!("{parent_key}|{b}"),
        None => parent_key,
    };
    Outcome::value(display).with([Some(key), branch_key, place])
}

/// Traditional to simplified Chinese with OpenCC's t2s tables (phrases, then characters).
fn simplified(s: &str) -> String {
    static T2S: LazyLock<OpenCC> =
        LazyLock::new(|| OpenCC::from_config(BuiltinConfig::T2s).expect("built-in t2s tables"));
    /// Ideographs (U+3400..U+FAFF) that t2s changes on their own, as a bitset.
    static TRADITIONAL: LazyLock<Vec<u64>> = LazyLock::new(|| {
        // One conversion of every ideograph, a line each so that none forms a phrase.
        let ideographs: Vec<char> = (FIRST..=LAST).filter_map(char::from_u32).collect();
        let lines: String = ideographs.iter().flat_map(|c| [*c, '\n']).collect();
        let converted = T2S.convert(&lines);
        let mut bits = vec![0u64; ((LAST - FIRST) / 64 + 1) as usize];
        for (c, line) in ideographs.iter().zip(converted.lines()) {
            if line.chars().ne(std::iter::once(*c)) {
                let i = (*c as u32 - FIRST) as usize;
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    });
    const FIRST: u32 = 0x3400;
    const LAST: u32 = 0xFAFF;
    let traditional = |c: char| {
        let i = (c as u32).wrapping_sub(FIRST) as usize;
        i <= (LAST - FIRST) as usize && TRADITIONAL[i / 64] & (1 << (i % 64)) != 0
    };
    if s.chars().any(traditional) { T2S.convert(s) } else { s.to_string() }
}

/// `深圳华信科技有限公司北京分公司` → (`深圳华信科技有限公司`, Some(`北京分公司`)).
fn split_branch(name: &str) -> (&str, Option<String>) {
    let trimmed = name.trim_end_matches([')', ' ']);
    if let Some(marker) = BRANCH_MARKERS.iter().find(|m| trimmed.ends_with(*m)) {
        let body = &trimmed[..trimmed.len() - marker.len()];
        // The parent's name ends at its legal form; what follows names the branch.
        let cut = CN_FORMS.iter().filter_map(|f| body.rfind(f).map(|i| i + f.len())).max();
        return match cut {
            Some(i) => (&name[..i], Some(format!("{}{marker}", &body[i..]))),
            None => (body, Some(marker.to_string())),
        };
    }
    if let Some(i) = name.rfind(" BRANCH") {
        let body = &name[..i];
        let cut = EN_FORMS.iter().filter_map(|f| word_end(body, f)).max().unwrap_or(body.len());
        return (&name[..cut], Some(name[cut..].trim().to_string()));
    }
    (name, None)
}

/// Where the last whole-word occurrence of `word` in `s` ends (with a following '.').
fn word_end(s: &str, word: &str) -> Option<usize> {
    let is_word = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    s.match_indices(word)
        .filter(|(i, _)| is_word(s[..*i].chars().next_back()) && is_word(s[i + word.len()..].chars().next()))
        .map(|(i, _)| i + word.len() + usize::from(s[i + word.len()..].starts_with('.')))
        .last()
}

/// The match key of a (non-branch) name, and the place moved out of it.
fn key_of(name: &str) -> (String, Option<String>) {
    let mut place = None;
    // Places in brackets: 华信科技(深圳)有限公司.
    let mut s = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else { break };
        let inside = &rest[open + 1..close];
        s.push_str(&rest[..open]);
        if is_place(inside) {
            place.get_or_insert_with(|| inside.to_string());
        } else {
            s.push_str(inside);
        }
        rest = &rest[close + 1..];
    }
    s.push_str(rest);
    // A leading place: 深圳华信科技 → 华信科技, when a name remains.
    let d = &*DIVISIONS;
    let leading =
        [longest_prefix(&s, &d.provinces, 8).map(|(e, _)| e), longest_prefix(&s, &d.cities, 8).map(|(e, _)| e)];
    if let Some(end) = leading.into_iter().flatten().max() {
        let end = if s[end..].starts_with('市') || s[end..].starts_with('省') { end + 3 } else { end };
        if s[end..].chars().filter(|c| c.is_alphanumeric()).count() >= 2 + legal_form_len(&s[end..]) {
            place.get_or_insert_with(|| s[..end].to_string());
            s = s[end..].to_string();
        }
    }
    (squash(strip_legal_form(&s)), place)
}

fn is_place(s: &str) -> bool {
    let d = &*DIVISIONS;
    let s = s.trim();
    d.provinces.contains_key(s) || d.cities.contains_key(s) || d.districts.contains_key(s)
}

fn legal_form_len(s: &str) -> usize {
    CN_FORMS.iter().find(|f| s.ends_with(*f)).map_or(0, |f| f.chars().count())
}

fn strip_legal_form(s: &str) -> &str {
    let s = s.trim_end();
    if let Some(f) = CN_FORMS.iter().find(|f| s.ends_with(*f)) {
        return &s[..s.len() - f.len()];
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

/// Letters, digits and CJK only.
fn squash(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> String {
        company_name(raw).extras[0].clone().unwrap_or_else(|| panic!("{raw}: {:?}", company_name(raw).error))
    }

    #[test]
    fn variants_of_one_company_share_a_key() {
        let same = [
            "北京字节跳动科技有限公司",
            "字节跳动（北京）科技有限公司 ",
            "字节跳动科技有限公司",
            "北京市字节跳动科技有限责任公司",
            "北京 字节跳动 科技 有限公司",
            "【北京】字节跳动科技有限公司",
            "北京字节跳动科技\u{200B}有限公司",
        ];
        for raw in same {
            assert_eq!(key(raw), "字节跳动科技", "{raw}");
        }
    }

    #[test]
    fn english_names_and_widths() {
        for raw in [
            "ＢＹＴＥＤＡＮＣＥ Co., Ltd.",
            "ByteDance Co.,Ltd",
            "BYTEDANCE LIMITED",
            "Bytedance Company Limited",
            "bytedance inc.",
        ] {
            assert_eq!(key(raw), "BYTEDANCE", "{raw}");
        }
        assert_eq!(key("Sino Pacific Trading Co., Ltd."), "SINOPACIFICTRADING");
        assert_eq!(company_name("ＢＹＴＥＤＡＮＣＥ Co., Ltd.").value.as_deref(), Some("BYTEDANCE Co., Ltd."));
    }

    #[test]
    fn legal_forms_and_industries() {
        assert_eq!(key("深圳华信科技股份有限公司"), key("华信科技股份公司"));
        assert_ne!(
            key("深圳华信科技有限公司"),
            key("深圳华信贸易有限公司"),
            "different industry words, different companies"
        );
        assert_eq!(key("深圳华信(集团)有限公司"), "华信", "集团有限公司 is a legal form");
    }

    #[test]
    fn a_branch_never_shares_its_parents_key() {
        let parent = key("深圳华信科技有限公司");
        let branch = company_name("深圳华信科技有限公司北京分公司");
        assert_eq!(branch.extras[0].as_deref(), Some("华信科技|北京分公司"));
        assert_eq!(branch.extras[1].as_deref(), Some("北京分公司"));
        assert_ne!(branch.extras[0].as_deref(), Some(parent.as_str()));
        assert_eq!(key("深圳华信科技有限公司 北京分公司"), key("深圳华信科技有限公司北京分公司"));
        assert_ne!(key("深圳华信科技有限公司北京分公司"), key("深圳华信科技有限公司上海分公司"));
        assert_eq!(key("Acme Trading Ltd. Beijing Branch"), "ACMETRADING|BEIJINGBRANCH");
    }

    #[test]
    fn places_are_moved_out_only_when_a_name_remains() {
        assert_eq!(company_name("华信科技（深圳）有限公司").extras[2].as_deref(), Some("深圳"));
        assert_eq!(key("北京有限公司"), "北京", "a bare place is the name");
        assert_eq!(key("中国石油天然气股份有限公司"), "中国石油天然气");
    }

    #[test]
    fn traditional_and_simplified_spellings_share_a_key() {
        assert_eq!(key("北京字節跳動科技有限公司"), "字节跳动科技");
        assert_eq!(key("臺灣積體電路製造股份有限公司"), key("台湾积体电路制造股份有限公司"));
        assert_eq!(key("深圳華信科技集團有限公司"), key("深圳华信科技集团有限公司"));
        assert_eq!(
            company_name("北京字節跳動科技有限公司").value.as_deref(),
            Some("北京字節跳動科技有限公司"),
            "display keeps the script"
        );
    }

    #[test]
    fn garbage_is_invalid() {
        assert_eq!(company_name("   ").error, Some("empty"));
        assert_eq!(company_name("12345").error, Some("not_a_name"));
        assert_eq!(company_name("---").error, Some("not_a_name"));
        assert_eq!(company_name("有限公司").error, Some("no_name_left"));
    }
}
