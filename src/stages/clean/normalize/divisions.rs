//! China's administrative divisions (`data/cn_divisions.csv`, GB/T 2260) indexed by
//! official name and by the short forms exports use: 广东 for 广东省, 广西 for
//! 广西壮族自治区, 内蒙 for 内蒙古自治区, 粤 at the start of an address, 深圳 for 深圳市.

use std::sync::LazyLock;

// Lookups of short names dominate address and company-name cleaning; FxHash is
// several times faster than the default SipHash on them (no untrusted keys here).
use rustc_hash::FxHashMap as HashMap;

const TABLE: &str = include_str!("../../../../data/cn_divisions.csv");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Province,
    City,
    District,
}

#[derive(Debug)]
pub struct Division {
    pub code: &'static str,
    pub name: &'static str,
    pub parent: Option<&'static str>,
}

pub struct Divisions {
    pub all: HashMap<&'static str, Division>,
    /// Province-level names, full and short, to codes.
    pub provinces: HashMap<String, &'static str>,
    /// One-character abbreviations (粤, 沪); only trusted when a city follows.
    pub abbreviations: HashMap<char, &'static str>,
    /// Prefecture-level city names, full and short, to codes (a short name may be shared).
    pub cities: HashMap<String, Vec<&'static str>>,
    /// County-level names, full and short, to codes.
    pub districts: HashMap<String, Vec<&'static str>>,
}

/// Municipalities directly under the central government: the province is the city.
pub fn is_municipality(province_code: &str) -> bool {
    matches!(&province_code[..2], "11" | "12" | "31" | "50")
}

pub static DIVISIONS: LazyLock<Divisions> = LazyLock::new(build);

fn short_province(name: &str) -> String {
    for suffix in ["壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市"]
    {
        if let Some(s) = name.strip_suffix(suffix) {
            return s.to_string();
        }
    }
    name.to_string()
}

fn short_city(name: &str) -> Option<String> {
    if name.ends_with("自治州") {
        return Some(name.chars().take(2).collect());
    }
    ["市", "地区", "盟"].iter().find_map(|s| name.strip_suffix(s)).filter(|s| s.chars().count() >= 2).map(String::from)
}

fn short_district(name: &str) -> Option<String> {
    ["区", "县", "市", "旗"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|s| s.chars().count() >= 2)
        .map(String::from)
}

fn build() -> Divisions {
    let mut d = Divisions {
        all: HashMap::default(),
        provinces: HashMap::default(),
        abbreviations: HashMap::default(),
        cities: HashMap::default(),
        districts: HashMap::default(),
    };
    for line in TABLE.lines().skip(1) {
        let mut f = line.split(',');
        let (Some(code), Some(name), Some(level), Some(parent)) = (f.next(), f.next(), f.next(), f.next()) else {
            continue;
        };
        let level = match level {
            "province" => Level::Province,
            "city" => Level::City,
            _ => Level::District,
        };
        match level {
            Level::Province => {
                d.provinces.insert(name.to_string(), code);
                d.provinces.insert(short_province(name), code);
            }
            // 市辖区 and 县 are placeholders under municipalities, not names.
            Level::City if !name.contains("辖") && name != "县" => {
                d.cities.entry(name.to_string()).or_default().push(code);
                if let Some(short) = short_city(name) {
                    d.cities.entry(short).or_default().push(code);
                }
            }
            Level::District => {
                d.districts.entry(name.to_string()).or_default().push(code);
                if let Some(short) = short_district(name) {
                    d.districts.entry(short).or_default().push(code);
                }
            }
            Level::City => {}
        }
        let parent = (!parent.is_empty()).then_some(parent);
        d.all.insert(code, Division { code, name, parent });
    }
    d.provinces.insert("内蒙".to_string(), "150000");
    for (abbr, code) in [
        ('京', "110000"),
        ('津', "120000"),
        ('沪', "310000"),
        ('渝', "500000"),
        ('冀', "130000"),
        ('晋', "140000"),
        ('辽', "210000"),
        ('吉', "220000"),
        ('黑', "230000"),
        ('苏', "320000"),
        ('浙', "330000"),
        ('皖', "340000"),
        ('闽', "350000"),
        ('赣', "360000"),
        ('鲁', "370000"),
        ('豫', "410000"),
        ('鄂', "420000"),
        ('湘', "430000"),
        ('粤', "440000"),
        ('桂', "450000"),
        ('琼', "460000"),
        ('川', "510000"),
        ('蜀', "510000"),
        ('贵', "520000"),
        ('黔', "520000"),
        ('云', "530000"),
        ('滇', "530000"),
        ('藏', "540000"),
        ('陕', "610000"),
        ('秦', "610000"),
        ('甘', "620000"),
        ('陇', "620000"),
        ('青', "630000"),
        ('宁', "640000"),
        ('新', "650000"),
    ] {
        d.abbreviations.insert(abbr, code);
    }
    d
}

impl Divisions {
    pub fn get(&self, code: &str) -> Option<&Division> {
        self.all.get(code)
    }

    /// The province a division belongs to.
    pub fn province_of(&self, code: &str) -> &'static str {
        let mut c = self.all.get(code).expect("known code");
        while let Some(p) = c.parent.and_then(|p| self.all.get(p)) {
            c = p;
        }
        c.code
    }

    /// Whether `code` lies under `ancestor` (by GB/T 2260 prefixes).
    pub fn is_under(code: &str, ancestor: &str) -> bool {
        let keep = ancestor.trim_end_matches("00").len().max(2);
        code[..keep] == ancestor[..keep]
    }
}

/// The longest key of `index` that `text` starts with, if any: (matched chars, value).
pub fn longest_prefix<'a, V>(text: &str, index: &'a HashMap<String, V>, max_chars: usize) -> Option<(usize, &'a V)> {
    let mut ends = [0usize; 16];
    let mut n = 0;
    for (i, c) in text.char_indices().take(max_chars.min(ends.len())) {
        ends[n] = i + c.len_utf8();
        n += 1;
    }
    ends[..n].iter().rev().find_map(|&end| index.get(&text[..end]).map(|v| (end, v)))
}
