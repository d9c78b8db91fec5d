//! The ground truth of the sample: distinct real-world customers with valid tax ids,
//! phones and addresses. Systems' records are noisy copies of these.

use chrono::NaiveDate;
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore};

/// A prefecture-level city where customers sit.
pub struct City {
    pub province: &'static str,
    pub name: &'static str,
    /// Landline area code, with the trunk 0.
    pub area_code: &'static str,
    /// GB/T 2260 district code, used in tax ids.
    pub division: &'static str,
    /// The sales region a company files the customer under.
    pub region: &'static str,
    pub districts: [&'static str; 2],
}

const fn city(
    province: &'static str,
    name: &'static str,
    area_code: &'static str,
    division: &'static str,
    region: &'static str,
    districts: [&'static str; 2],
) -> City {
    City { province, name, area_code, division, region, districts }
}

pub const CITIES: [City; 20] = [
    city("北京", "北京", "010", "110105", "华北", ["朝阳区", "海淀区"]),
    city("上海", "上海", "021", "310115", "华东", ["浦东新区", "徐汇区"]),
    city("天津", "天津", "022", "120101", "华北", ["和平区", "南开区"]),
    city("重庆", "重庆", "023", "500103", "西南", ["渝中区", "江北区"]),
    city("广东", "广州", "020", "440106", "华南", ["天河区", "越秀区"]),
    city("广东", "深圳", "0755", "440305", "华南", ["南山区", "福田区"]),
    city("浙江", "杭州", "0571", "330106", "华东", ["西湖区", "滨江区"]),
    city("江苏", "南京", "025", "320106", "华东", ["鼓楼区", "玄武区"]),
    city("江苏", "苏州", "0512", "320505", "华东", ["虎丘区", "吴中区"]),
    city("四川", "成都", "028", "510107", "西南", ["武侯区", "锦江区"]),
    city("湖北", "武汉", "027", "420106", "华中", ["武昌区", "洪山区"]),
    city("陕西", "西安", "029", "610113", "西北", ["雁塔区", "碑林区"]),
    city("山东", "济南", "0531", "370102", "华东", ["历下区", "市中区"]),
    city("山东", "青岛", "0532", "370202", "华东", ["市南区", "崂山区"]),
    city("福建", "厦门", "0592", "350203", "华东", ["思明区", "湖里区"]),
    city("湖南", "长沙", "0731", "430104", "华中", ["岳麓区", "芙蓉区"]),
    city("河南", "郑州", "0371", "410105", "华中", ["金水区", "中原区"]),
    city("辽宁", "沈阳", "024", "210102", "东北", ["和平区", "沈河区"]),
    city("黑龙江", "哈尔滨", "0451", "230103", "东北", ["南岗区", "道里区"]),
    city("云南", "昆明", "0871", "530102", "西南", ["五华区", "盘龙区"]),
];

/// Characters of brands (字号): enough that two customers of one industry rarely share
/// a brand by chance, as in a real customer list of tens of thousands.
pub(crate) const BRAND_CHARS: [&str; 80] = [
    "华", "信", "达", "通", "瑞", "祥", "鑫", "恒", "泰", "宏", "远", "博", "创", "联", "天", "海", "金", "安", "盛",
    "中", "新", "美", "嘉", "和", "佳", "兴", "德", "永", "星", "辰", "智", "源", "汇", "诚", "锦", "鼎", "润", "丰",
    "卓", "凯", "光", "明", "东", "方", "大", "立", "伟", "腾", "飞", "龙", "利", "富", "贵", "荣", "昌", "隆", "顺",
    "发", "万", "宝", "康", "健", "力", "群", "英", "俊", "杰", "邦", "国", "正", "合", "益", "同", "振", "浩", "宇",
    "百", "峰", "森", "晨",
];
const INDUSTRIES: [&str; 16] = [
    "科技",
    "贸易",
    "实业",
    "电子",
    "机械",
    "物流",
    "建设工程",
    "餐饮管理",
    "医药",
    "信息技术",
    "网络科技",
    "商贸",
    "食品",
    "化工",
    "纺织",
    "环保科技",
];
pub const LEGAL_FORMS: [&str; 4] = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"];
const EN_BRANDS: [&str; 16] = [
    "Acme",
    "Globex",
    "Sino Pacific",
    "Orient Star",
    "Bluewave",
    "Everbright",
    "Silkroad",
    "Greenfield",
    "Northwind",
    "Harbor",
    "Summit",
    "Lotus",
    "Phoenix",
    "Jade River",
    "Golden Gate",
    "Red Maple",
];
const EN_INDUSTRIES: [&str; 6] = ["Trading", "Technology", "Logistics", "Electronics", "Industrial", "Foods"];
const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗",
];
const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞",
    "建国", "平", "刚", "桂英", "玉兰", "萍", "毅", "浩", "宇", "欣", "婷", "鹏", "飞", "斌", "琳", "雪", "梅", "晨",
    "阳", "帆", "志强",
];
const ROADS: [&str; 30] = [
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "科技路",
    "长江路",
    "和平路",
    "新华路",
    "文化路",
    "创业路",
    "北京路",
    "南京路",
    "东风路",
    "胜利路",
    "光明路",
    "青年路",
    "朝阳路",
    "迎宾大道",
    "滨江路",
    "湖滨路",
    "学府路",
    "花园路",
    "工业大道",
    "金融街",
    "体育路",
    "园林路",
    "振兴路",
    "团结路",
    "友谊路",
    "幸福路",
];
/// What individual businesses trade as: their name's last words.
const TRADES: [&str; 8] = ["烟酒商行", "五金店", "便利店", "餐馆", "建材经营部", "批发部", "服装店", "水果店"];
pub const CATEGORIES: [&str; 3] = ["成单客户", "潜在客户", "合作伙伴"];

/// One real-world customer.
#[derive(Debug, Clone)]
pub struct Company {
    pub entity: usize,
    pub city: usize,
    pub place: String,
    pub brand: String,
    pub industry: String,
    pub form: String,
    /// `Some(parent entity)` for a branch (分公司), which is a customer of its own.
    pub branch_of: Option<usize>,
    pub english: bool,
    /// An individual business (个体工商户): 岳麓区辉福烟酒商行.
    pub individual: bool,
    pub uscc: String,
    pub phone: String,
    pub contact: String,
    pub email: Option<String>,
    pub address: String,
    pub category: &'static str,
    pub active: bool,
    pub created: NaiveDate,
    pub credit_limit: u32,
}

impl Company {
    /// The registered name, e.g. 深圳华信科技有限公司 or Acme Trading Co., Ltd.
    pub fn name(&self) -> String {
        if self.english {
            return format!("{} {} {}", self.brand, self.industry, self.form);
        }
        format!("{}{}{}{}", self.place, self.brand, self.industry, self.form)
    }
}

pub fn person(rng: &mut impl Rng) -> String {
    format!("{}{}", SURNAMES.choose(rng).unwrap(), GIVEN.choose(rng).unwrap())
}

/// A valid 统一社会信用代码: 91 (a company) or 92 (an individual business) + region +
/// 9 random chars + GB 32100 check character.
pub fn uscc(rng: &mut impl Rng, kind: &str, region: &str) -> String {
    const CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut code: Vec<u8> = format!("{kind}{region}").into_bytes();
    for _ in 0..9 {
        let pool = if rng.random_bool(0.8) { &CHARSET[..10] } else { CHARSET };
        code.push(*pool.choose(rng).unwrap());
    }
    let sum: usize = code
        .iter()
        .enumerate()
        .map(|(i, c)| CHARSET.iter().position(|x| x == c).unwrap() * 3usize.pow(i as u32) % 31)
        .sum();
    code.push(CHARSET[(31 - sum % 31) % 31]);
    String::from_utf8(code).unwrap()
}

/// Every this many customers, one has a Hong Kong number the phone metadata does not list.
pub const HONG_KONG_EVERY: usize = 150;

/// Allocated mobile blocks (号段); numbers outside them are not valid phones.
const MOBILE_BLOCKS: [&str; 24] = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157",
    "158", "159", "177", "180", "186", "187", "188", "189",
];

pub(crate) fn phone(rng: &mut impl Rng, area_code: &str) -> String {
    if rng.random_bool(0.65) {
        format!("{}{:08}", MOBILE_BLOCKS.choose(rng).unwrap(), rng.random_range(0..100_000_000u32))
    } else {
        format!("{area_code}-{}{:07}", rng.random_range(2..=8), rng.random_range(0..10_000_000u32))
    }
}

pub fn generate(rng: &mut impl RngCore, count: usize) -> Vec<Company> {
    let mut names = std::collections::HashSet::new();
    let mut companies: Vec<Company> = Vec::with_capacity(count);
    while companies.len() < count {
        let entity = companies.len();
        let city = rng.random_range(0..CITIES.len());
        let City { province, name: city_name, area_code: area, division: region, districts, .. } = &CITIES[city];
        let (province, city_name) = (*province, *city_name);
        let branch_parent = (entity > 10 && rng.random_bool(0.04))
            .then(|| rng.random_range(0..entity))
            .filter(|&p| companies[p].branch_of.is_none() && !companies[p].english);
        let english = branch_parent.is_none() && rng.random_bool(0.07);
        let individual = branch_parent.is_none() && !english && rng.random_bool(0.04);
        let district = rng.random_range(0..2);
        let (place, brand, industry, form) = match branch_parent {
            Some(p) => {
                let parent = &companies[p];
                let parent_name = parent.name();
                (parent_name, city_name.to_string(), String::new(), "分公司".to_string())
            }
            // 个体工商户: registered under its district, with a trade and no legal form.
            None if individual => (
                districts[district].to_string(),
                (0..2).map(|_| *BRAND_CHARS.choose(rng).unwrap()).collect(),
                TRADES.choose(rng).unwrap().to_string(),
                String::new(),
            ),
            None if english => (
                String::new(),
                EN_BRANDS.choose(rng).unwrap().to_string(),
                EN_INDUSTRIES.choose(rng).unwrap().to_string(),
                ["Co., Ltd.", "Limited", "Inc."].choose(rng).unwrap().to_string(),
            ),
            None => {
                let len = if rng.random_bool(0.7) { 2 } else { 3 };
                let brand: String = (0..len).map(|_| *BRAND_CHARS.choose(rng).unwrap()).collect();
                (
                    city_name.to_string(),
                    brand,
                    INDUSTRIES.choose(rng).unwrap().to_string(),
                    LEGAL_FORMS.choose(rng).unwrap().to_string(),
                )
            }
        };
        let mut company = Company {
            entity,
            city,
            place,
            brand,
            industry,
            form,
            branch_of: branch_parent,
            english,
            individual,
            uscc: uscc(rng, if individual { "92" } else { "91" }, region),
            phone: phone(rng, area),
            contact: person(rng),
            email: None,
            address: format!(
                "{}{}{}{}号",
                if province == city_name { format!("{province}市") } else { format!("{province}省{city_name}市") },
                districts[district],
                ROADS.choose(rng).unwrap(),
                rng.random_range(1..999)
            ),
            category: CATEGORIES[[0, 0, 0, 0, 0, 0, 1, 1, 1, 2][rng.random_range(0..10)]],
            active: rng.random_bool(0.93),
            created: NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + chrono::Days::new(rng.random_range(0..3650)),
            credit_limit: [0, 10_000, 50_000, 100_000, 200_000, 500_000][rng.random_range(0..6)],
        };
        // Name registration forbids the same 字号 and 行业 within one registration area,
        // whatever the legal form; English names are unique without their legal form.
        let registered = match (company.branch_of, company.english) {
            (Some(_), _) => company.name(),
            (None, true) => format!("{} {}", company.brand, company.industry),
            (None, false) => format!("{}{}{}", company.place, company.brand, company.industry),
        };
        if !names.insert(registered) {
            continue;
        }
        if rng.random_bool(0.5) {
            let user = ["sales", "finance", "info", "purchase", "admin"].choose(rng).unwrap();
            company.email = Some(format!("{user}{}@example{}.com", entity % 97, entity % 13));
        }
        // One customer in 150 is reached on a Hong Kong number of the 43 range, which
        // the bundled libphonenumber metadata (9.0.33) does not list: "invalid" to it.
        if entity % HONG_KONG_EVERY == HONG_KONG_EVERY / 2 {
            let digits: String = company.phone.chars().filter(char::is_ascii_digit).collect();
            let (middle, last) = (&digits[digits.len() - 6..digits.len() - 4], &digits[digits.len() - 4..]);
            company.phone = format!("+852 43{middle} {last}");
        }
        companies.push(company);
    }
    companies
}
