//! Chinese addresses: province, city and district found at the start (official names
//! or their short forms), and the address rewritten with official names, so that
//! "广东深圳 南山区科技路1号" and "深圳市南山区科技路1号" both read
//! "广东省深圳市南山区科技路1号". A district written alone fills in its city and
//! province when no other district has its name. Extras: `province`, `city`,
//! `district`, `division` (the GB/T 2260 code of the most specific level found) and
//! `street` (what lies below the district), which compares equal with or without the
//! prefix.

use super::divisions::{DIVISIONS, Divisions, is_municipality, longest_prefix};
use super::{
    Outcome,
    text::{fold, join_cjk},
};

pub fn cn_address(raw: &str) -> Outcome {
    let s = join_cjk(&fold(raw));
    if s.is_empty() {
        return Outcome::invalid("empty");
    }
    let d = &*DIVISIONS;
    let (province, rest) = match longest_prefix(&s, &d.provinces, 8) {
        Some((end, &code)) => (Some(code), &s[end..]),
        None => abbreviated_province(d, &s).map_or((None, s.as_str()), |(code, rest)| (Some(code), rest)),
    };
    // "北京市北京市朝阳区": a municipality written twice is still one.
    let rest = match province.and_then(|p| d.get(p)).filter(|p| is_municipality(p.code)) {
        Some(p) => {
            rest.strip_prefix(p.name).or_else(|| rest.strip_prefix(p.name.trim_end_matches('市'))).unwrap_or(rest)
        }
        None => rest,
    };
    let (city, rest) = find_city(d, province, rest);
    let province = province.or_else(|| city.map(|c| d.province_of(c)));
    let (district, rest) = match (province, city) {
        (None, None) => lone_district(d, rest),
        _ => find_district(d, city.or(province.filter(|p| is_municipality(p))), rest),
    };
    // A district alone (槐荫区学院路…) names its city and province when it is the only
    // district of that name.
    let city = city.or_else(|| district.and_then(|c| d.get(c)?.parent).filter(|p| !is_placeholder(d, p)));
    let province = province.or_else(|| district.map(|c| d.province_of(c)));

    let street = rest.trim_start_matches(|c: char| c == ',' || c == '，' || c.is_whitespace());
    let street = (!street.is_empty()).then(|| street.to_string());
    let Some(province) = province else {
        return Outcome::value(s).with([None, None, None, None, street]);
    };
    let name = |code: Option<&str>| code.and_then(|c| d.get(c)).map(|x| x.name.to_string());
    let city_name = if is_municipality(province) { name(Some(province)) } else { name(city) };
    let mut value = name(Some(province)).unwrap_or_default();
    if !is_municipality(province) {
        value.push_str(city_name.as_deref().unwrap_or(""));
    }
    value.push_str(name(district).as_deref().unwrap_or(""));
    // The separator after the divisions goes, with any space around it, as joining does.
    value.push_str(street.as_deref().unwrap_or(""));
    let most_specific = district.or(city).unwrap_or(province);
    Outcome::value(value).with([
        name(Some(province)),
        city_name,
        name(district),
        Some(most_specific.to_string()),
        street,
    ])
}

/// `粤深圳…`, `京朝阳区…`: a one-character abbreviation counts only when one of its
/// cities (or, for a municipality, one of its districts) follows.
fn abbreviated_province<'a>(d: &Divisions, s: &'a str) -> Option<(&'static str, &'a str)> {
    let first = s.chars().next()?;
    let code = *d.abbreviations.get(&first)?;
    let rest = &s[first.len_utf8()..];
    let under = |index| {
        longest_prefix(rest, index, 12)
            .is_some_and(|(_, codes): (usize, &Vec<&str>)| codes.iter().any(|c| Divisions::is_under(c, code)))
    };
    (under(&d.cities) || (is_municipality(code) && under(&d.districts))).then_some((code, rest))
}

fn find_city<'a>(d: &Divisions, province: Option<&str>, s: &'a str) -> (Option<&'static str>, &'a str) {
    let Some((end, codes)) = longest_prefix(s, &d.cities, 12) else { return (None, s) };
    // 朝阳区 is a district, not the city 朝阳 followed by 区.
    if s[end..].starts_with(['区', '县', '旗']) {
        return (None, s);
    }
    let chosen = match province {
        Some(p) => codes.iter().find(|c| Divisions::is_under(c, p)),
        None if codes.len() == 1 => codes.first(),
        None => None,
    };
    match chosen {
        Some(&c) => (Some(c), &s[end..]),
        None => (None, s),
    }
}

fn find_district<'a>(d: &Divisions, within: Option<&str>, s: &'a str) -> (Option<&'static str>, &'a str) {
    let Some(within) = within else { return (None, s) };
    let Some((end, codes)) = longest_prefix(s, &d.districts, 12) else { return (None, s) };
    match codes.iter().find(|c| Divisions::is_under(c, within)) {
        Some(&c) => (Some(c), &s[end..]),
        None => (None, s),
    }
}

/// A district written with its suffix (槐荫区, not 槐荫) at the start, when no other
/// district in the country has that name.
fn lone_district<'a>(d: &Divisions, s: &'a str) -> (Option<&'static str>, &'a str) {
    match longest_prefix(s, &d.districts, 12) {
        Some((end, codes)) if codes.len() == 1 && s[..end].ends_with(['区', '县', '旗', '市']) => {
            (Some(codes[0]), &s[end..])
        }
        _ => (None, s),
    }
}

/// 市辖区 and 县 under a municipality: codes of no place of their own.
fn is_placeholder(d: &Divisions, code: &str) -> bool {
    d.get(code).is_none_or(|c| c.name.contains("辖") || c.name == "县")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &str) -> (Option<String>, [Option<String>; 3]) {
        let out = cn_address(raw);
        (out.value, [out.extras[0].clone(), out.extras[1].clone(), out.extras[2].clone()])
    }

    fn some(s: &str) -> Option<String> {
        (!s.is_empty()).then(|| s.to_string())
    }

    #[test]
    fn addresses_in_many_spellings() {
        let cases = [
            ("广东省深圳市南山区科技路1号", "广东省深圳市南山区科技路1号", ["广东省", "深圳市", "南山区"]),
            ("广东深圳 南山区科技路1号", "广东省深圳市南山区科技路1号", ["广东省", "深圳市", "南山区"]),
            ("深圳市南山区科技路1号", "广东省深圳市南山区科技路1号", ["广东省", "深圳市", "南山区"]),
            ("粤深圳南山区科技路1号", "广东省深圳市南山区科技路1号", ["广东省", "深圳市", "南山区"]),
            ("北京市朝阳区建国路88号", "北京市朝阳区建国路88号", ["北京市", "北京市", "朝阳区"]),
            ("北京朝阳区建国路88号", "北京市朝阳区建国路88号", ["北京市", "北京市", "朝阳区"]),
            ("京朝阳区建国路88号", "北京市朝阳区建国路88号", ["北京市", "北京市", "朝阳区"]),
            ("北京市北京市朝阳区建国路88号", "北京市朝阳区建国路88号", ["北京市", "北京市", "朝阳区"]),
            ("上海市 浦东新区 世纪大道100号", "上海市浦东新区世纪大道100号", ["上海市", "上海市", "浦东新区"]),
            ("沪浦东新区世纪大道100号", "上海市浦东新区世纪大道100号", ["上海市", "上海市", "浦东新区"]),
            ("新华路1号", "新华路1号", ["", "", ""]),
            (
                "广西壮族自治区南宁市青秀区民族大道1号",
                "广西壮族自治区南宁市青秀区民族大道1号",
                ["广西壮族自治区", "南宁市", "青秀区"],
            ),
            (
                "广西南宁青秀区民族大道1号",
                "广西壮族自治区南宁市青秀区民族大道1号",
                ["广西壮族自治区", "南宁市", "青秀区"],
            ),
            ("内蒙呼和浩特市新城区1号", "内蒙古自治区呼和浩特市新城区1号", ["内蒙古自治区", "呼和浩特市", "新城区"]),
            ("浙江省杭州市西湖区文三路", "浙江省杭州市西湖区文三路", ["浙江省", "杭州市", "西湖区"]),
            ("杭州西湖区文三路", "浙江省杭州市西湖区文三路", ["浙江省", "杭州市", "西湖区"]),
            ("ＳＨＡＮＧＨＡＩ ROAD 1", "SHANGHAI ROAD 1", ["", "", ""]),
            ("重庆渝中区解放碑", "重庆市渝中区解放碑", ["重庆市", "重庆市", "渝中区"]),
            ("江苏省苏州市", "江苏省苏州市", ["江苏省", "苏州市", ""]),
            ("湖北武汉市洪山区珞喻路1037号", "湖北省武汉市洪山区珞喻路1037号", ["湖北省", "武汉市", "洪山区"]),
        ];
        for (raw, want, [p, c, dist]) in cases {
            assert_eq!(parts(raw), (some(want), [some(p), some(c), some(dist)]), "{raw}");
        }
        assert_eq!(cn_address(" ").error, Some("empty"));
    }

    #[test]
    fn a_lone_district_names_its_city_when_it_is_the_only_one_of_its_name() {
        assert_eq!(
            parts("槐荫区学院路299号"),
            (some("山东省济南市槐荫区学院路299号"), [some("山东省"), some("济南市"), some("槐荫区")])
        );
        assert_eq!(cn_address("槐荫区学院路299号").value, cn_address("济南市槐荫区学院路299号").value);
        // 朝阳区 is in Beijing and in Changchun: nothing is guessed.
        assert_eq!(parts("朝阳区建国路88号"), (some("朝阳区建国路88号"), [None, None, None]));
        assert_eq!(parts("槐荫学院路299号").1, [None, None, None], "a district needs its suffix alone");
    }

    #[test]
    fn the_street_is_the_part_below_the_district() {
        let street = |raw: &str| cn_address(raw).extras[4].clone();
        for raw in ["山东省济南市槐荫区学院路299号", "济南槐荫区 学院路299号", "槐荫区学院路299号"]
        {
            assert_eq!(street(raw).as_deref(), Some("学院路299号"), "{raw}");
        }
        assert_eq!(street("新华路1号").as_deref(), Some("新华路1号"));
        assert_eq!(street("江苏省苏州市"), None);
    }

    #[test]
    fn division_code_is_the_most_specific_found() {
        assert_eq!(cn_address("深圳市南山区科技路1号").extras[3].as_deref(), Some("440305"));
        assert_eq!(cn_address("江苏省苏州市").extras[3].as_deref(), Some("320500"));
    }
}
