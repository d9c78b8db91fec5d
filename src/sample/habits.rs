//! Entry habits of Chinese finance and CRM users that `--noise hard` plants in noisy
//! copies, each at its own rate (see the README's sample section). The tables here are
//! the generator's own, written by hand, so that the normalizers are measured against
//! an independent truth rather than against themselves.

use rand::Rng;
use rand::seq::IndexedRandom;

use super::world::{CITIES, Company, LEGAL_FORMS};

/// Pinyin of the brand characters the world draws from.
const BRAND_PINYIN: [(char, &str); 80] = [
    ('华', "Hua"),
    ('信', "Xin"),
    ('达', "Da"),
    ('通', "Tong"),
    ('瑞', "Rui"),
    ('祥', "Xiang"),
    ('鑫', "Xin"),
    ('恒', "Heng"),
    ('泰', "Tai"),
    ('宏', "Hong"),
    ('远', "Yuan"),
    ('博', "Bo"),
    ('创', "Chuang"),
    ('联', "Lian"),
    ('天', "Tian"),
    ('海', "Hai"),
    ('金', "Jin"),
    ('安', "An"),
    ('盛', "Sheng"),
    ('中', "Zhong"),
    ('新', "Xin"),
    ('美', "Mei"),
    ('嘉', "Jia"),
    ('和', "He"),
    ('佳', "Jia"),
    ('兴', "Xing"),
    ('德', "De"),
    ('永', "Yong"),
    ('星', "Xing"),
    ('辰', "Chen"),
    ('智', "Zhi"),
    ('源', "Yuan"),
    ('汇', "Hui"),
    ('诚', "Cheng"),
    ('锦', "Jin"),
    ('鼎', "Ding"),
    ('润', "Run"),
    ('丰', "Feng"),
    ('卓', "Zhuo"),
    ('凯', "Kai"),
    ('光', "Guang"),
    ('明', "Ming"),
    ('东', "Dong"),
    ('方', "Fang"),
    ('大', "Da"),
    ('立', "Li"),
    ('伟', "Wei"),
    ('腾', "Teng"),
    ('飞', "Fei"),
    ('龙', "Long"),
    ('利', "Li"),
    ('富', "Fu"),
    ('贵', "Gui"),
    ('荣', "Rong"),
    ('昌', "Chang"),
    ('隆', "Long"),
    ('顺', "Shun"),
    ('发', "Fa"),
    ('万', "Wan"),
    ('宝', "Bao"),
    ('康', "Kang"),
    ('健', "Jian"),
    ('力', "Li"),
    ('群', "Qun"),
    ('英', "Ying"),
    ('俊', "Jun"),
    ('杰', "Jie"),
    ('邦', "Bang"),
    ('国', "Guo"),
    ('正', "Zheng"),
    ('合', "He"),
    ('益', "Yi"),
    ('同', "Tong"),
    ('振', "Zhen"),
    ('浩', "Hao"),
    ('宇', "Yu"),
    ('百', "Bai"),
    ('峰', "Feng"),
    ('森', "Sen"),
    ('晨', "Chen"),
];

/// The other brand characters that read like `c` (信, 鑫 and 新 are all XIN).
pub fn homophones(c: char) -> Vec<char> {
    let Some((_, reading)) = BRAND_PINYIN.iter().find(|(b, _)| *b == c) else { return vec![] };
    BRAND_PINYIN.iter().filter(|(b, p)| p == reading && *b != c).map(|(b, _)| *b).collect()
}

/// How a CRM writes the world's industries in English.
const INDUSTRY_EN: [(&str, &[&str]); 16] = [
    ("科技", &["Technology", "Science and Technology", "Tech"]),
    ("贸易", &["Trading", "Trade"]),
    ("实业", &["Industrial", "Industry"]),
    ("电子", &["Electronics", "Electronic"]),
    ("机械", &["Machinery"]),
    ("物流", &["Logistics"]),
    ("建设工程", &["Construction Engineering"]),
    ("餐饮管理", &["Catering Management"]),
    ("医药", &["Pharmaceutical", "Pharmaceuticals"]),
    ("信息技术", &["Information Technology"]),
    ("网络科技", &["Network Technology"]),
    ("商贸", &["Commerce", "Commerce and Trade"]),
    ("食品", &["Food", "Foods"]),
    ("化工", &["Chemical", "Chemicals"]),
    ("纺织", &["Textile", "Textiles"]),
    ("环保科技", &["Environmental Technology"]),
];

/// The cities' names in English, in the order of [`CITIES`].
const CITY_EN: [&str; 20] = [
    "Beijing",
    "Shanghai",
    "Tianjin",
    "Chongqing",
    "Guangzhou",
    "Shenzhen",
    "Hangzhou",
    "Nanjing",
    "Suzhou",
    "Chengdu",
    "Wuhan",
    "Xi'an",
    "Jinan",
    "Qingdao",
    "Xiamen",
    "Changsha",
    "Zhengzhou",
    "Shenyang",
    "Harbin",
    "Kunming",
];

/// A homophone a pinyin input method offers for each city's name (尚海 for 上海), in
/// the order of [`CITIES`]; None where the name is three characters.
const CITY_HOMOPHONE: [Option<&str>; 20] = [
    Some("北经"),
    Some("尚海"),
    Some("天今"),
    Some("重青"),
    Some("广洲"),
    Some("深镇"),
    Some("航州"),
    Some("南经"),
    Some("苏洲"),
    Some("城都"),
    Some("五汉"),
    Some("西按"),
    Some("济男"),
    Some("青到"),
    Some("夏门"),
    Some("长莎"),
    Some("正州"),
    Some("沈洋"),
    None,
    Some("昆名"),
];

/// 有限公司 as hurried typing leaves it.
const FORM_TYPOS: [(&str, &str); 4] =
    [("有限公司", "有限功司"), ("有限公司", "有限公思"), ("有限公司", "有线公司"), ("有限责任公司", "有限责任公思")];

/// Legal forms of companies registered abroad, as a CRM copies them.
const FOREIGN_FORMS: [&str; 6] = ["Pte. Ltd.", "Pty Ltd", "Private Limited", "GmbH & Co. KG", "S.A.", "Limited"];

/// The name a habit gives a company, if the habit applies to it.
pub fn name_habit(rng: &mut impl Rng, c: &Company, crm: bool) -> Option<String> {
    if c.individual {
        // Registered as 长沙市岳麓区辉福烟酒商行, written with its district only or none.
        let city = CITIES[c.city].name;
        return match rng.random_range(0..3) {
            0 => Some(format!("{city}市{}", c.name())),
            1 => Some(format!("{}{}", c.brand, c.industry)),
            _ => None,
        };
    }
    let chinese = !c.english && c.branch_of.is_none();
    let roll = rng.random_range(0..1000);
    match roll {
        // An English or pinyin alias, in a CRM: Shenzhen Huaxin Technology Co., Ltd.
        0..=19 if chinese && crm => Some(english_alias(rng, c)),
        // A typo inside the legal form: 有限功司.
        20..=39 if chinese => FORM_TYPOS
            .iter()
            .filter(|(form, _)| c.form.ends_with(form))
            .collect::<Vec<_>>()
            .choose(rng)
            .map(|(form, typo)| c.name().replacen(form, typo, 1)),
        // A homophone for the leading place: 尚海华信科技有限公司.
        40..=59 if chinese => CITY_HOMOPHONE[c.city].map(|h| c.name().replacen(&c.place, h, 1)),
        // A branch written without its parent's legal form: 华信科技广州分公司.
        60..=359 if c.branch_of.is_some() => Some(format!("{}{}分公司", parent_short(&c.place), c.brand)),
        // 集团 added to the name, or the owner's name in brackets.
        360..=379 if chinese => Some(format!("{}{}{}集团{}", c.place, c.brand, c.industry, c.form)),
        380..=389 if chinese => Some(format!("{}({})", c.name(), c.contact)),
        // An abbreviation: the place and the brand only (绍兴中新).
        390..=409 if chinese => Some(format!("{}{}", c.place, c.brand)),
        // A foreign company's legal form as the other system writes it.
        410..=509 if c.english => Some(format!("{} {} {}", c.brand, c.industry, FOREIGN_FORMS.choose(rng).unwrap())),
        _ => None,
    }
}

/// 深圳华信科技有限公司 → Shenzhen Huaxin Technology Co., Ltd.
fn english_alias(rng: &mut impl Rng, c: &Company) -> String {
    let brand: String = c
        .brand
        .chars()
        .map(|ch| BRAND_PINYIN.iter().find(|(b, _)| *b == ch).map_or("", |(_, p)| p))
        .collect::<Vec<_>>()
        .concat();
    let brand = brand[..1].to_string() + &brand[1..].to_lowercase();
    let industry =
        INDUSTRY_EN.iter().find(|(zh, _)| *zh == c.industry).map_or("Trading", |(_, en)| en.choose(rng).unwrap());
    let form = ["Co., Ltd.", "Co.,Ltd", "Limited", "Company Limited"].choose(rng).unwrap();
    match rng.random_range(0..3) {
        0 => format!("{} {brand} {industry} {form}", CITY_EN[c.city]),
        1 => format!("{brand} {industry} ({}) {form}", CITY_EN[c.city]),
        _ => format!("{brand} {industry} {form}"),
    }
}

/// A parent's registered name without its place and legal form: 深圳华信科技有限公司 → 华信科技.
fn parent_short(parent: &str) -> &str {
    let name = CITIES.iter().find_map(|city| parent.strip_prefix(city.name)).unwrap_or(parent);
    LEGAL_FORMS.iter().filter_map(|f| name.strip_suffix(f)).min_by_key(|n| n.len()).unwrap_or(name)
}

/// The legacy 15-character taxpayer id a USCC replaced: its characters 3–17.
pub fn legacy_tax_id(uscc: &str) -> String {
    uscc[2..17].to_string()
}

/// An address written from its district on (槐荫区学院路299号), as a local clerk does.
pub fn address_habit(rng: &mut impl Rng, address: &str, city: usize) -> Option<String> {
    if !rng.random_bool(0.03) {
        return None;
    }
    let at = CITIES[city].districts.iter().find_map(|d| address.find(d))?;
    Some(address[at..].to_string())
}

/// A phone cell as people fill it: with the contact's name, or with a second number.
pub fn phone_habit(rng: &mut impl Rng, phone: &str, contact: &str, other: &str) -> Option<String> {
    // A landline written as the local number, the area code left to the reader.
    if let Some((_, local)) = phone.split_once('-')
        && rng.random_bool(0.25)
    {
        return Some(local.to_string());
    }
    match rng.random_range(0..1000) {
        0..=19 => Some(format!("{phone}（{contact}）")),
        20..=34 => Some(format!("{}会计 {phone}", contact.chars().next().unwrap_or('王'))),
        35..=49 => Some(format!("{phone} / {other}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::world::BRAND_CHARS;

    #[test]
    fn every_brand_character_has_its_pinyin_and_homophones_read_alike() {
        for c in BRAND_CHARS.iter().flat_map(|b| b.chars()) {
            assert!(BRAND_PINYIN.iter().any(|(b, _)| *b == c), "{c} has no pinyin");
        }
        assert_eq!(homophones('信'), ['鑫', '新']);
        assert!(homophones('卓').is_empty());
    }
}
