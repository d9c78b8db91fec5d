//! Places in company names: 深圳华信科技, 华信科技(深圳), 岳麓区辉福烟酒商行, a homophone typed
//! by a pinyin input method (尚海 for 上海), or a romanized name (Shenzhen Huaxin …).
//! A place found is reported by its official name (上海 and 上海市 both read 上海市),
//! so that two records' places compare equal however they were written.

use std::sync::LazyLock;

use pinyin::{ToPinyin, ToPinyinMulti};
use rustc_hash::FxHashMap as HashMap;

use super::super::divisions::{DIVISIONS, longest_prefix};

/// The official name of a division code.
pub fn official(code: &str) -> String {
    DIVISIONS.get(code).map_or_else(|| code.to_string(), |d| d.name.to_string())
}

/// The division `s` names: a province, city or district (full or short name), or a
/// province's or city's romanized name (SHENZHEN, HONG KONG).
pub fn code_of(s: &str) -> Option<&'static str> {
    let d = &*DIVISIONS;
    let s = s.trim();
    d.provinces
        .get(s)
        .copied()
        .or_else(|| d.cities.get(s).map(|c| c[0]))
        .or_else(|| d.districts.get(s).map(|c| c[0]))
        .or_else(|| ROMAN.get(&letters(s)).copied())
}

/// The places written at the start of a name, at most one of each level
/// (广东省深圳市南山区), as (byte length, code of the most specific). A district counts
/// only written with its suffix (岳麓区, not 岳麓).
pub fn written(s: &str) -> Option<(usize, &'static str)> {
    let d = &*DIVISIONS;
    let mut end = 0;
    let mut code = None;
    let suffixed = |end: usize, suffixes: &[char]| if s[end..].starts_with(suffixes) { end + 3 } else { end };
    if let Some((n, &c)) = longest_prefix(s, &d.provinces, 8) {
        (end, code) = (suffixed(n, &['省', '市']), Some(c));
    }
    if let Some((n, c)) = longest_prefix(&s[end..], &d.cities, 8) {
        (end, code) = (suffixed(end + n, &['市']), Some(c[0]));
    }
    if let Some((n, c)) = longest_prefix(&s[end..], &d.districts, 10)
        && s[end..end + n].ends_with(['区', '县', '旗'])
    {
        (end, code) = (end + n, Some(c[0]));
    }
    code.map(|code| (end, code))
}

/// 尚海科技 → (尚海, 上海市): two leading characters that read as a province's or city's
/// two-character short name (厦 read as XIA or SHA). Short brands read like places too
/// (锦中 like 晋中): the caller decides whether a brand remains.
pub fn homophone(s: &str) -> Option<(usize, &'static str)> {
    let mut chars = s.char_indices();
    let (_, a) = chars.next()?;
    let (i, b) = chars.next()?;
    let code = *SOUNDS.get(&(a.to_pinyin()?.plain(), b.to_pinyin()?.plain()))?;
    let end = i + b.len_utf8();
    Some((if s[end..].starts_with(['省', '市']) { end + 3 } else { end }, code))
}

/// `SHENZHEN HUAXIN …`, `HONG KONG …`: one or two leading Latin words naming a place.
pub fn romanized(s: &str) -> Option<(usize, &'static str)> {
    let words: Vec<(usize, &str)> = s
        .split_inclusive(|c: char| !c.is_ascii_alphanumeric())
        .scan(0, |at, w| {
            let start = *at;
            *at += w.len();
            Some((start + w.len(), w))
        })
        .take(2)
        .collect();
    (1..=words.len()).rev().find_map(|n| {
        let joined: String = words[..n].iter().map(|(_, w)| letters(w)).collect();
        let (end, last) = words[n - 1];
        (!joined.is_empty() && last.chars().any(|c| !c.is_ascii_alphanumeric()))
            .then(|| ROMAN.get(&joined).map(|c| (end, *c)))?
    })
}

fn letters(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_uppercase()).collect()
}

/// Province and city names, full and short, with their codes.
fn place_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    let d: &'static _ = &*DIVISIONS;
    let provinces = d.provinces.iter().map(|(n, c)| (n.as_str(), *c));
    provinces.chain(d.cities.iter().map(|(n, c)| (n.as_str(), c[0])))
}

/// Each character's pinyin readings, without tones (重: ZHONG and CHONG), if every
/// character has one.
fn readings(name: &str) -> Option<Vec<Vec<&'static str>>> {
    name.chars().map(|c| Some(c.to_pinyin_multi()?.into_iter().map(|p| p.plain()).collect())).collect()
}

/// Romanized short names of provinces and cities, every reading of a character that has
/// several (重庆: ZHONGQING and CHONGQING), to the division's code.
static ROMAN: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut out = HashMap::default();
    for (name, code) in place_names().filter(|(n, _)| (2..=3).contains(&n.chars().count())) {
        let Some(readings) = readings(name) else { continue };
        let spelled = readings.iter().fold(vec![String::new()], |prefixes, options| {
            prefixes.iter().flat_map(|p| options.iter().map(move |o| format!("{p}{}", o.to_uppercase()))).collect()
        });
        for spelling in spelled {
            out.entry(spelling).or_insert(code);
        }
    }
    out.insert("HONGKONG".into(), "810000");
    out.insert("MACAU".into(), "820000");
    out.insert("HARBIN".into(), "230100");
    out
});

/// Two-character short names of provinces and cities by their characters' readings
/// (every reading), looked up without building a string: a name is checked often.
static SOUNDS: LazyLock<HashMap<(&'static str, &'static str), &'static str>> = LazyLock::new(|| {
    let mut out = HashMap::default();
    for (name, code) in place_names() {
        let Some([first, second]) = readings(name).and_then(|r| <[_; 2]>::try_from(r).ok()) else { continue };
        for a in &first {
            for b in &second {
                out.entry((*a, *b)).or_insert(code);
            }
        }
    }
    out
});

#[cfg(test)]
mod tests {
    use super::*;

    fn leading(s: &str) -> Option<(usize, &'static str)> {
        written(s).or_else(|| homophone(s)).or_else(|| romanized(s))
    }

    fn place(s: &str) -> Option<(&str, String)> {
        leading(s).map(|(end, code)| (&s[..end], official(code)))
    }

    #[test]
    fn places_at_the_start_by_level() {
        assert_eq!(place("深圳华信科技"), Some(("深圳", "深圳市".into())));
        assert_eq!(place("上海市华信"), Some(("上海市", "上海市".into())));
        assert_eq!(place("湖南省长沙市岳麓区辉福烟酒商行"), Some(("湖南省长沙市岳麓区", "岳麓区".into())));
        assert_eq!(place("岳麓区辉福烟酒商行"), Some(("岳麓区", "岳麓区".into())));
        assert_eq!(place("岳麓辉福烟酒商行"), None, "a district without its suffix is too likely a word");
    }

    #[test]
    fn homophones_and_romanized_places() {
        assert_eq!(place("尚海华信科技"), Some(("尚海", "上海市".into())));
        assert_eq!(place("南凝华信科技"), Some(("南凝", "南宁市".into())));
        assert_eq!(place("SHENZHEN HUAXIN TECHNOLOGY"), Some(("SHENZHEN ", "深圳市".into())));
        assert_eq!(place("CHONGQING HUAXIN"), Some(("CHONGQING ", "重庆市".into())));
        assert_eq!(place("HONG KONG HUAXIN"), Some(("HONG KONG ", "香港特别行政区".into())));
        assert_eq!(place("HUAXIN TECHNOLOGY"), None);
        assert_eq!(code_of("SHENZHEN").map(official).as_deref(), Some("深圳市"));
    }
}
