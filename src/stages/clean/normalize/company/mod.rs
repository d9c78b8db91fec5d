//! Company names: a display form and match keys.
//!
//! Display: width-folded, spaces collapsed (and removed next to Chinese characters).
//! Key: traditional characters simplified (OpenCC t2s: 臺灣積體電路 → 台湾积体电路);
//! upper-cased; brackets unified; places in brackets or at the start moved out
//! (深圳华信科技有限公司, 华信科技(深圳)有限公司, 华信科技有限公司 and 尚海华信科技 share
//! the key 华信科技); an owner's name in brackets and 集团 dropped; the legal form
//! dropped, mistyped or foreign (有限公司 = 有线公司 = 有限责任公司, Co., Ltd. = Pty Ltd);
//! punctuation and spaces removed. A branch (分公司) keeps its parent's key plus its
//! own marker, so it never shares a key with its parent.
//! Extras: `key`, `branch` (e.g. 北京分公司), `place` (the official name of the place
//! moved out, 上海 and 上海市 alike), `roman` (brand in pinyin, industry in English:
//! `HUAXIN TECHNOLOGY` for 深圳华信科技有限公司 and for Shenzhen Huaxin Technology Co., Ltd.),
//! `form` (the kind of legal person the name states: 有限责任公司 or 股份有限公司).

mod forms;
mod place;
mod roman;

use std::sync::LazyLock;

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;

use super::{
    Outcome,
    text::{fold, is_cjk, join_cjk},
};
use forms::{cn_form_end, en_form_end, strip_legal_form};

const BRANCH_MARKERS: [&str; 6] = ["分公司", "分厂", "分店", "办事处", "营业部", "分部"];

/// Common surnames: a bracketed 2–3 character name starting with one is an owner's
/// name (辉福烟酒商行(张三)), not part of the business name.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";

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
        .filter(|c| *c != '.')
        .map(|c| match c {
            '【' | '〔' | '[' | '{' | '（' => '(',
            '】' | '〕' | ']' | '}' | '）' => ')',
            c => c,
        })
        .collect();
    let (parent, branch) = split_branch(&upper);
    let Parent { key: parent_key, place, roman, form } = key_of(parent);
    if parent_key.is_empty() {
        return Outcome::invalid("no_name_left");
    }
    let branch_key = branch.map(|b| squash(&b));
    let key = match &branch_key {
        Some(b) => format!("{parent_key}|{b}"),
        None => parent_key,
    };
    Outcome::value(display).with([Some(key), branch_key, place.map(place::official), roman, form.map(String::from)])
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

/// `深圳华信科技有限公司北京分公司` → (`深圳华信科技有限公司`, Some(`北京分公司`));
/// `盛明文化传媒广州分公司` → (`盛明文化传媒`, Some(`广州分公司`)): without a legal form,
/// a place just before the marker names the branch.
fn split_branch(name: &str) -> (&str, Option<String>) {
    let trimmed = name.trim_end_matches([')', ' ']);
    if let Some(marker) = BRANCH_MARKERS.iter().find(|m| trimmed.ends_with(*m)) {
        let body = &trimmed[..trimmed.len() - marker.len()];
        // The parent's name ends at its legal form, else before a trailing place.
        let cut = cn_form_end(body).or_else(|| trailing_place(body));
        return match cut {
            Some(i) => (&name[..i], Some(format!("{}{marker}", body[i..].trim_start()))),
            None => (body, Some(marker.to_string())),
        };
    }
    if let Some(i) = name.rfind(" BRANCH") {
        let body = &name[..i];
        let cut = en_form_end(body).unwrap_or(body.len());
        return (&name[..cut], Some(name[cut..].trim().to_string()));
    }
    (name, None)
}

/// Where a place that ends `s` starts, leaving at least two characters of name before it.
fn trailing_place(s: &str) -> Option<usize> {
    let starts: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    starts.iter().skip(2).copied().find(|&i| {
        let tail = s[i..].trim_end_matches('市');
        tail.chars().count() >= 2 && place::code_of(tail).is_some()
    })
}

/// A parent name's keys.
struct Parent {
    key: String,
    place: Option<&'static str>,
    roman: Option<String>,
    form: Option<&'static str>,
}

/// The match keys of a (non-branch) name, and the place moved out of it.
fn key_of(name: &str) -> Parent {
    let mut place = None;
    // Brackets: a place moves out, an owner's name and 集团 go, anything else stays.
    let mut s = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else { break };
        let inside = rest[open + 1..close].trim();
        s.push_str(&rest[..open]);
        if let Some(code) = place::code_of(inside) {
            place.get_or_insert(code);
        } else if !is_owner(inside) && inside != "集团" {
            s.push_str(inside);
        }
        s.push(' ');
        rest = &rest[close + 1..];
    }
    s.push_str(rest);
    // 集团 with or without its legal form: 华信科技集团 is 华信科技集团有限公司.
    let (body, form) = strip_legal_form(&s);
    let body = body.trim_end();
    let mut body = body.strip_suffix("集团").unwrap_or(body).trim_end();
    // Leading places (深圳, 湖南省长沙市岳麓区, SHENZHEN), when a brand remains: in
    // 兴安建设工程 the place is the brand. A homophone (尚海) only before a brand of two
    // characters or more, as registered names have, since short brands often read like
    // a place (锦中 like 晋中).
    let rest_len = |end: usize| body[end..].chars().filter(|c| c.is_alphanumeric()).count();
    let sounded =
        || place::homophone(body).filter(|&(end, _)| roman::brand_len(&body[end..]).unwrap_or(rest_len(end) / 2) >= 2);
    if let Some((end, code)) = place::written(body).or_else(sounded).or_else(|| place::romanized(body))
        && rest_len(end) >= 2
        && roman::brand_len(&body[end..]) != Some(0)
    {
        place.get_or_insert(code);
        body = body[end..].trim_start();
    }
    Parent { key: squash(body), place, roman: roman::roman_key(body), form }
}

/// 张三, 欧阳娜: two or three Chinese characters starting with a common surname.
fn is_owner(s: &str) -> bool {
    let n = s.chars().count();
    (2..=3).contains(&n) && s.chars().all(is_cjk) && s.chars().next().is_some_and(|c| SURNAMES.contains(c))
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
        assert_eq!(company_name("华信科技（深圳）有限公司").extras[2].as_deref(), Some("深圳市"));
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

    fn extra(raw: &str, i: usize) -> Option<String> {
        company_name(raw).extras[i].clone()
    }

    #[test]
    fn entry_habits_keep_the_key() {
        let same = [
            "深圳华信科技有限功司",
            "深圳华信科技有线公司",
            "尚海华信科技有限公司",
            "夏门华信科技有限公司",
            "华信科技集团有限公司",
            "华信科技集团",
            "深圳华信科技(集团)有限公司",
            "华信科技有限公司(张伟)",
        ];
        for raw in same {
            assert_eq!(key(raw), "华信科技", "{raw}");
        }
        assert_eq!(key("岳麓区辉福烟酒商行"), key("辉福烟酒商行"));
        // Brands that read like a place stay brands when no brand would remain.
        assert_eq!(key("博诚佳医药有限公司"), "博诚佳医药");
        assert_eq!(key("安安德机械（厦门）有限公司"), "安安德机械");
        assert_eq!(key("锦中新物流有限责任公司"), "锦中新物流", "锦中 reads like 晋中, but 新 is no brand");
        assert_eq!(key("兴安建设工程有限公司"), "兴安建设工程", "兴安 (兴安盟) is the brand: only an industry follows");
        assert_eq!(key("郑州兴安建设工程有限公司"), "兴安建设工程");
        assert_eq!(extra("兴安建设工程有限公司", 2), None);
        assert_eq!(key("长沙市岳麓区辉福烟酒商行"), "辉福烟酒商行");
        assert_eq!(extra("岳麓区辉福烟酒商行", 2).as_deref(), Some("岳麓区"));
    }

    #[test]
    fn places_are_official_names() {
        for raw in ["上海华信科技有限公司", "上海市华信科技有限公司", "华信科技(上海)有限公司", "尚海华信科技有限公司"]
        {
            assert_eq!(extra(raw, 2).as_deref(), Some("上海市"), "{raw}");
        }
        assert_eq!(extra("Shanghai Huaxin Technology Co., Ltd.", 2).as_deref(), Some("上海市"));
    }

    #[test]
    fn a_branch_without_a_legal_form_is_named_by_its_place() {
        let branch = company_name("盛明文化传媒广州分公司");
        assert_eq!(branch.extras[0].as_deref(), Some("盛明文化传媒|广州分公司"));
        assert_eq!(branch.extras[1].as_deref(), Some("广州分公司"));
        assert_eq!(key("盛明文化传媒有限公司广州分公司"), "盛明文化传媒|广州分公司");
    }

    #[test]
    fn romanized_names_share_the_roman_key() {
        let roman = |raw: &str| extra(raw, 3).unwrap_or_else(|| panic!("{raw}"));
        assert_eq!(roman("深圳华信科技有限公司"), "HUAXIN TECHNOLOGY");
        assert_eq!(roman("Shenzhen Huaxin Technology Co., Ltd."), "HUAXIN TECHNOLOGY");
        assert_eq!(roman("HUAXIN TECHNOLOGY (SHENZHEN) CO., LTD."), "HUAXIN TECHNOLOGY");
        assert_eq!(key("Shenzhen Huaxin Technology Co., Ltd."), "HUAXINTECHNOLOGY");
        assert_ne!(key("深圳华新科技有限公司"), key("深圳华信科技有限公司"), "homophones keep their own key");
        assert_eq!(roman("深圳华新科技有限公司"), roman("深圳华信科技有限公司"));
    }

    #[test]
    fn foreign_legal_forms_go() {
        for raw in ["Acme Private Limited", "Acme S.A.", "Acme Pty Ltd", "Acme GmbH & Co. KG", "ACME PVT. LTD."] {
            assert_eq!(key(raw), "ACME", "{raw}");
        }
    }
}
