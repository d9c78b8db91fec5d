//! Width folding and whitespace: the first step of every normalizer.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// NFKC (full-width letters, digits and punctuation to half-width, U+3000 to a space),
/// invisible characters (zero-width, BOM, soft hyphen, controls) removed, whitespace
/// runs collapsed to one space, trimmed.
pub fn fold(s: &str) -> String {
    // Most text is already in NFKC (plain CJK, ASCII); the checks skip the work.
    let stable = is_stable(s);
    if stable || is_nfkc_quick(s.chars()) == IsNormalized::Yes {
        squeeze(s.chars(), stable)
    } else {
        squeeze(s.nfkc(), false)
    }
}

/// ASCII and the CJK unified ideographs are their own NFKC, whatever surrounds them:
/// a range check instead of the quick check's table lookups, for most names.
fn is_stable(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii() || matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'))
}

/// `stable`: the text is made of characters whose order NFKC never changes.
fn squeeze(chars: impl Iterator<Item = char>, stable: bool) -> String {
    let mut out = String::new();
    let mut space = false;
    let mut removed = false;
    for c in chars {
        if is_invisible(c) {
            removed = true;
            continue;
        }
        if c.is_whitespace() {
            removed |= space || c != ' ' || out.is_empty();
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    // A removed space may have kept combining marks apart ("\u{302a} \u{64c}"): put
    // them back in canonical order, or a second pass would reorder them.
    if stable || !removed || is_nfkc_quick(out.chars()) == IsNormalized::Yes { out } else { out.nfkc().collect() }
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
        || (c.is_control() && !c.is_whitespace())
}

/// CJK ideographs and their punctuation: text where spaces are noise, not separators.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Removes spaces that have a CJK character on either side ("深圳 华信 科技" → "深圳华信科技"),
/// keeping those between Latin words.
pub fn join_cjk(s: &str) -> String {
    if !s.contains(' ') {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1).copied();
            if before.is_some_and(is_cjk) || after.is_some_and(is_cjk) {
                continue;
            }
        }
        out.push(c);
    }
    // A removed space may have kept combining marks apart ("\u{302a} \u{64c}"): put
    // them back in canonical order, or a second pass would reorder them.
    if is_nfkc_quick(out.chars()) == IsNormalized::Yes { out } else { out.nfkc().collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining_keeps_combining_marks_in_canonical_order() {
        let once = join_cjk(&fold("\u{302a}ﹲ"));
        assert_eq!(join_cjk(&fold(&once)), once);
    }

    #[test]
    fn folds_width_invisibles_and_space() {
        assert_eq!(fold("ＡＢＣ　１２３"), "ABC 123");
        assert_eq!(fold("\u{FEFF}北京\u{200B}字节\u{00A0}\u{00A0}跳动 "), "北京字节 跳动");
        assert_eq!(fold("Ｃｏ．，Ｌｔｄ．"), "Co.,Ltd.");
        assert_eq!(fold("（北京）"), "(北京)");
        assert_eq!(fold("a\tb\r\nc"), "a b c");
        assert_eq!(join_cjk("深圳 华信 科技 Acme Trading"), "深圳华信科技Acme Trading");
    }
}
