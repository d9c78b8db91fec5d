//! The romanized key: a name's brand in toneless pinyin and its industry in English,
//! so that 深圳华信科技有限公司 and "Shenzhen Huaxin Technology Co., Ltd." share the key
//! `HUAXIN TECHNOLOGY`. Homophones share it too (华信, 华新): it is evidence to weigh
//! with the other fields, not a key to merge on.

use pinyin::ToPinyin;

/// Industry words: Chinese, canonical English, then other English spellings. Longer
/// Chinese words come first so that 网络科技 wins over 科技.
const INDUSTRIES: [(&str, &str, &[&str]); 30] = [
    ("信息技术", "INFORMATION TECHNOLOGY", &["IT"]),
    ("网络科技", "NETWORK TECHNOLOGY", &[]),
    ("环保科技", "ENVIRONMENTAL TECHNOLOGY", &["ENVIRONMENTAL PROTECTION TECHNOLOGY"]),
    ("生物科技", "BIOTECHNOLOGY", &["BIOTECH", "BIO TECHNOLOGY"]),
    ("建设工程", "CONSTRUCTION ENGINEERING", &["CONSTRUCTION"]),
    ("餐饮管理", "CATERING MANAGEMENT", &["CATERING"]),
    ("文化传媒", "CULTURE MEDIA", &["CULTURAL MEDIA", "MEDIA"]),
    ("进出口", "IMPORT AND EXPORT", &["IMPORT EXPORT", "IMP EXP"]),
    ("新材料", "NEW MATERIALS", &[]),
    ("科技", "TECHNOLOGY", &["TECH", "TECHNOLOGIES", "SCIENCE AND TECHNOLOGY", "SCI TECH"]),
    ("贸易", "TRADING", &["TRADE"]),
    ("商贸", "COMMERCE", &["COMMERCE AND TRADE", "COMMERCIAL"]),
    ("实业", "INDUSTRIAL", &["INDUSTRY", "INDUSTRIES"]),
    ("电子", "ELECTRONICS", &["ELECTRONIC"]),
    ("机械", "MACHINERY", &[]),
    ("物流", "LOGISTICS", &[]),
    ("医药", "PHARMACEUTICAL", &["PHARMACEUTICALS", "PHARMA"]),
    ("食品", "FOOD", &["FOODS"]),
    ("化工", "CHEMICAL", &["CHEMICALS"]),
    ("纺织", "TEXTILE", &["TEXTILES"]),
    ("投资", "INVESTMENT", &[]),
    ("咨询", "CONSULTING", &[]),
    ("建材", "BUILDING MATERIALS", &[]),
    ("汽车", "AUTOMOBILE", &["AUTO", "AUTOMOTIVE"]),
    ("服装", "GARMENT", &["APPAREL", "CLOTHING"]),
    ("能源", "ENERGY", &[]),
    ("电器", "ELECTRICAL APPLIANCES", &["ELECTRIC APPLIANCES"]),
    ("印刷", "PRINTING", &[]),
    ("装饰", "DECORATION", &[]),
    ("软件", "SOFTWARE", &[]),
];

/// The romanized key of a name already without legal form and place.
pub fn roman_key(body: &str) -> Option<String> {
    let body = body.trim();
    let (brand, industry) =
        if body.chars().any(super::super::text::is_cjk) { chinese_industry(body) } else { latin_industry(body) };
    let mut brand_roman = String::with_capacity(brand.len() * 2);
    for c in brand.chars().filter(|c| c.is_alphanumeric()) {
        match c.to_pinyin() {
            Some(p) => brand_roman.extend(p.plain().chars().map(|c| c.to_ascii_uppercase())),
            None => brand_roman.extend(c.to_uppercase()),
        }
    }
    let brand = brand_roman;
    match (brand.is_empty(), industry) {
        (true, None) => None,
        (true, Some(i)) => Some(i.to_string()),
        (false, None) => Some(brand),
        (false, Some(i)) => Some(format!("{brand} {i}")),
    }
}

/// How many characters of a Chinese name come before its industry word, if it has one.
pub fn brand_len(body: &str) -> Option<usize> {
    match chinese_industry(body) {
        (brand, Some(_)) => Some(brand.chars().filter(|c| c.is_alphanumeric()).count()),
        _ => None,
    }
}

fn chinese_industry(body: &str) -> (&str, Option<&'static str>) {
    let body = body.trim_end_matches(|c: char| !c.is_alphanumeric());
    INDUSTRIES
        .iter()
        .find_map(|(zh, en, _)| body.strip_suffix(zh).map(|brand| (brand, Some(*en))))
        .unwrap_or((body, None))
}

/// `HUAXIN SCIENCE AND TECHNOLOGY` → (`HUAXIN`, TECHNOLOGY): the longest run of last
/// words that spells an industry.
fn latin_industry(body: &str) -> (&str, Option<&'static str>) {
    // Each word with its byte offset in `body` (a separator may be several bytes long).
    let words: Vec<(usize, String)> = body
        .split(|c: char| !c.is_alphanumeric() && c != '&')
        .filter(|w| !w.is_empty())
        .map(|w| (w.as_ptr() as usize - body.as_ptr() as usize, w.replace('&', "AND")))
        .collect();
    for take in (1..=words.len().saturating_sub(1).min(4)).rev() {
        let tail: Vec<&str> = words[words.len() - take..].iter().map(|(_, w)| w.as_str()).collect();
        let tail = tail.join(" ");
        if let Some((_, en, _)) = INDUSTRIES.iter().find(|(_, en, other)| *en == tail || other.contains(&tail.as_str()))
        {
            return (&body[..words[words.len() - take].0], Some(*en));
        }
    }
    (body, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_forms_share_the_key() {
        assert_eq!(roman_key("华信科技").as_deref(), Some("HUAXIN TECHNOLOGY"));
        assert_eq!(roman_key("HUAXIN TECHNOLOGY").as_deref(), Some("HUAXIN TECHNOLOGY"));
        assert_eq!(roman_key("HUA XIN SCIENCE & TECHNOLOGY").as_deref(), Some("HUAXIN TECHNOLOGY"));
        assert_eq!(roman_key("鼎盛网络科技").as_deref(), Some("DINGSHENG NETWORK TECHNOLOGY"));
        assert_eq!(roman_key("盛明").as_deref(), Some("SHENGMING"));
        assert_eq!(roman_key("TECHNOLOGY").as_deref(), Some("TECHNOLOGY"), "a lone word is the brand");
    }

    /// Separators of several bytes (here em dashes) before the industry words.
    #[test]
    fn words_after_a_wide_separator() {
        assert_eq!(latin_industry("HUAXIN——SCIENCE AND TECHNOLOGY"), ("HUAXIN——", Some("TECHNOLOGY")));
    }
}
