//! Person names: Chinese names without inner spaces (张 三 → 张三), separator dots
//! unified (·), Latin names in title case (ASCII letters only).

use super::{
    Outcome,
    text::{fold, is_cjk},
};

pub fn person_name(raw: &str) -> Outcome {
    let folded = fold(raw).replace(['•', '‧', '・', '.', '．'], "·");
    let name = if folded.chars().any(is_cjk) {
        folded.chars().filter(|c| *c != ' ').collect::<String>()
    } else {
        folded
            .split(' ')
            .map(|w| {
                // ASCII only: full Unicode case mapping can expand a letter (ᾳ → ΑΙ).
                w.chars()
                    .enumerate()
                    .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    if name.is_empty() {
        return Outcome::invalid("empty");
    }
    if !name.chars().all(|c| c.is_alphabetic() || " ·'-".contains(c)) {
        return Outcome::invalid("not_a_name");
    }
    Outcome::value(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names() {
        for (raw, want) in [
            ("张 三", "张三"),
            (" 王　小明 ", "王小明"),
            ("阿卜杜拉•买买提", "阿卜杜拉·买买提"),
            ("john  SMITH", "John Smith"),
            ("ｍａｒｙ ｏ'ｎｅｉｌ", "Mary O'neil"),
        ] {
            assert_eq!(person_name(raw).value.as_deref(), Some(want), "{raw}");
        }
        for bad in ["", "  ", "张三123", "n/a"] {
            assert!(person_name(bad).error.is_some(), "{bad}");
        }
    }
}
