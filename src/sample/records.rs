//! Each system's export of the world: a subset of customers, copied with the dirt
//! real exports have (width, bracket, suffix and phone-format variants, duplicates
//! within and across systems, missing values) and a few rows that must be rejected.

use rand::seq::IndexedRandom;
use rand::{Rng, RngCore};

use super::habits;
use super::world::{BRAND_CHARS, CITIES, Company, phone};

/// How one system covers and garbles the world.
pub struct System {
    pub name: &'static str,
    pub id_prefix: &'static str,
    /// Share of real customers this system knows.
    pub coverage: f64,
    /// Share of known customers entered a second time under another id.
    pub duplicate_rate: f64,
    /// Chance that a first copy carries a formatting variant anyway.
    pub noise: f64,
}

pub const ERP: System = System { name: "erp", id_prefix: "C", coverage: 0.78, duplicate_rate: 0.05, noise: 0.3 };
pub const CRM: System = System { name: "crm", id_prefix: "CRM-", coverage: 0.62, duplicate_rate: 0.05, noise: 0.45 };

/// How much the copies of a customer differ. `Hard` adds what defeats exact keys:
/// typos in the name, missing tax ids, changed phones and house numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Noise {
    #[default]
    Standard,
    Hard,
}

/// One row of an export, as text the system would write.
#[derive(Debug, Clone)]
pub struct Record {
    pub system: &'static str,
    pub entity: usize,
    pub customer_id: Option<String>,
    pub name: String,
    pub uscc: Option<String>,
    pub phone: Option<String>,
    pub contact: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub region: String,
    pub category: String,
    pub credit_limit: Option<String>,
    pub created: String,
    pub status: &'static str,
    /// The reject reason this row was made to trigger, if any.
    pub planted: Option<&'static str>,
}

pub fn export(rng: &mut impl RngCore, world: &[Company], system: &System, noise: Noise) -> Vec<Record> {
    let mut rows = Vec::new();
    for company in world {
        if !rng.random_bool(system.coverage) {
            continue;
        }
        let noisy = rng.random_bool(system.noise);
        rows.push(copy(rng, company, system, noisy, noise));
        if rng.random_bool(system.duplicate_rate) {
            rows.push(copy(rng, company, system, true, noise));
        }
    }
    // Re-entered duplicates are typed in later, so they sit apart from the original.
    for i in (1..rows.len()).rev() {
        if rows[i].entity == rows[i - 1].entity {
            let j = rng.random_range(0..=i);
            rows.swap(i, j);
        }
    }
    for (n, row) in rows.iter_mut().enumerate() {
        row.customer_id = Some(format!("{}{:06}", system.id_prefix, n + 1));
    }
    plant_rejects(rng, &mut rows);
    rows
}

fn copy<R: Rng>(rng: &mut R, c: &Company, system: &System, noisy: bool, noise: Noise) -> Record {
    let uscc = if noisy && rng.random_bool(0.2) { c.uscc.to_lowercase() } else { c.uscc.clone() };
    let phone = if noisy { phone_variant(rng, &c.phone) } else { c.phone.clone() };
    let address = if noisy && rng.random_bool(0.3) {
        c.address.replace("省", "").replace("市", " ")
    } else {
        c.address.clone()
    };
    let maybe = |rng: &mut R, p: f64, v: String| rng.random_bool(p).then_some(v);
    let mut record = Record {
        system: system.name,
        entity: c.entity,
        customer_id: None,
        name: if noisy { name_variant(rng, c) } else { c.name() },
        uscc: maybe(rng, 0.85, uscc),
        phone: maybe(rng, 0.9, phone),
        contact: maybe(rng, 0.8, c.contact.clone()),
        email: c.email.clone().filter(|_| rng.random_bool(0.9)),
        address: maybe(rng, 0.9, address),
        region: CITIES[c.city].region.to_string(),
        category: c.category.to_string(),
        credit_limit: (c.credit_limit > 0).then(|| money_text(rng, c.credit_limit)),
        created: date_text(rng, c.created),
        status: if c.active { "正常" } else { "停用" },
        planted: None,
    };
    if noisy && noise == Noise::Hard {
        harden(rng, &mut record, c);
        habits(rng, &mut record, c, system.name == CRM.name);
    }
    record
}

/// Share of noisy copies whose brand has a character mistyped: 1 in 25 records, the
/// order of the other habits' rates (the 35% of earlier versions put a typo in one
/// record in eight, above anything measured on real exports).
pub const BRAND_TYPO: f64 = 0.1;

/// What years of manual entry do: a mistyped or shortened name, a tax id left out, a
/// phone that changed, a house number off, a contact not recorded.
fn harden(rng: &mut impl Rng, r: &mut Record, c: &Company) {
    if !c.english && c.branch_of.is_none() && rng.random_bool(BRAND_TYPO) {
        let mut brand: Vec<char> = c.brand.chars().collect();
        let at = rng.random_range(0..brand.len());
        // Pinyin input offers homophones first: 华信 typed as 华新.
        let homophones = habits::homophones(brand[at]);
        brand[at] = match homophones.choose(rng) {
            Some(&h) if rng.random_bool(0.6) => h,
            _ => BRAND_CHARS.choose(rng).unwrap().chars().next().unwrap(),
        };
        let brand: String = brand.into_iter().collect();
        r.name = r.name.replacen(&c.brand, &brand, 1);
    }
    if rng.random_bool(0.4) {
        r.uscc = None;
    }
    if rng.random_bool(0.25) {
        r.phone = Some(phone(rng, CITIES[c.city].area_code));
    }
    if let Some(address) = r.address.as_mut().filter(|_| rng.random_bool(0.2)) {
        *address = address.trim_end_matches('号').trim_end_matches(|ch: char| ch.is_ascii_digit()).to_string()
            + &format!("{}号", rng.random_range(1..999));
    }
    if rng.random_bool(0.3) {
        r.contact = None;
    }
}

/// The entry habits of `habits`: aliases, typos in forms and places, branches without
/// a legal form, legacy tax ids, contacts and second numbers in phone cells.
fn habits(rng: &mut impl Rng, r: &mut Record, c: &Company, crm: bool) {
    if let Some(name) = habits::name_habit(rng, c, crm) {
        r.name = name;
    }
    if let Some(address) = r.address.as_deref().and_then(|a| habits::address_habit(rng, a, c.city)) {
        r.address = Some(address);
    }
    if r.uscc.is_some() && rng.random_bool(0.01) {
        r.uscc = Some(habits::legacy_tax_id(&c.uscc));
    }
    if let Some(p) = r.phone.clone() {
        let other = phone(rng, CITIES[c.city].area_code);
        if let Some(cell) = habits::phone_habit(rng, &p, &c.contact, &other) {
            r.phone = Some(cell);
        }
    }
}

/// A name as someone might have typed it: full-width, place in brackets, other legal form, spaces.
fn name_variant(rng: &mut impl Rng, c: &Company) -> String {
    let name = c.name();
    if c.english {
        return match rng.random_range(0..3) {
            0 => name.to_uppercase(),
            1 => to_full_width(&name),
            _ => name.replace(", ", ","),
        };
    }
    if c.branch_of.is_some() {
        return match rng.random_range(0..2) {
            0 => to_full_width(&name).replace('(', "（"),
            _ => format!(" {name}"),
        };
    }
    let other_form = match c.form.as_str() {
        "有限公司" => "有限责任公司",
        "有限责任公司" => "有限公司",
        "股份有限公司" => "股份公司",
        f => f,
    };
    match rng.random_range(0..5) {
        0 => format!("{}{}（{}）{}", c.brand, c.industry, c.place, c.form),
        1 => format!("{}{}{}{}", c.place, c.brand, c.industry, other_form),
        2 => format!("{}{}{}", c.brand, c.industry, c.form),
        3 => format!("{} {}{} {}", c.place, c.brand, c.industry, c.form),
        _ => format!("{}({}){}{}", c.brand, c.place, c.industry, c.form),
    }
}

fn to_full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' => '\u{3000}',
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The same number as different systems print it.
fn phone_variant(rng: &mut impl Rng, phone: &str) -> String {
    if phone.starts_with('+') {
        // As many draws as a mobile's variants take, so the records after it stay.
        return if rng.random_range(0..5) < 2 { phone.replace(' ', "") } else { phone.to_string() };
    }
    if let Some((area, local)) = phone.split_once('-') {
        return match rng.random_range(0..3) {
            0 => format!("({area}){local}"),
            1 => format!("+86 {} {local}", &area[1..]),
            _ => format!("{area}{local}"),
        };
    }
    match rng.random_range(0..5) {
        0 => format!("+86 {} {} {}", &phone[..3], &phone[3..7], &phone[7..]),
        1 => format!("{}-{}-{}", &phone[..3], &phone[3..7], &phone[7..]),
        2 => format!("0086{phone}"),
        3 => to_full_width(phone),
        _ => format!("+86-{phone}"),
    }
}

fn money_text(rng: &mut impl Rng, yuan: u32) -> String {
    let grouped = {
        let digits = yuan.to_string();
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        out
    };
    match rng.random_range(0..4) {
        0 => format!("￥{grouped}.00"),
        1 => format!("{grouped}.00元"),
        2 => format!("{yuan}"),
        _ => format!("{grouped}.00"),
    }
}

fn date_text(rng: &mut impl Rng, d: chrono::NaiveDate) -> String {
    let pattern = ["%Y-%m-%d", "%Y-%m-%d", "%Y/%-m/%-d", "%Y%m%d", "%Y年%-m月%-d日"].choose(rng).unwrap();
    d.format(pattern).to_string()
}

/// A few rows per thousand that a schema must reject, each with the reason it should get.
fn plant_rejects(rng: &mut impl Rng, rows: &mut [Record]) {
    for i in 1..rows.len() {
        let previous_id = rows[i - 1].customer_id.clone();
        let row = &mut rows[i];
        row.planted = match rng.random_range(0..1000) {
            0..=2 => {
                row.customer_id = None;
                Some("missing_required")
            }
            3..=4 if previous_id.is_some() => {
                row.customer_id = previous_id;
                Some("duplicate_key")
            }
            5..=8 => {
                row.created = ["2024-02-30", "2023/13/01", "未知", "0000-00-00"].choose(rng).unwrap().to_string();
                Some("bad_date")
            }
            9..=11 => {
                row.credit_limit = Some(["待定", "N/A", "面议"].choose(rng).unwrap().to_string());
                Some("bad_decimal")
            }
            12..=13 => {
                row.category = "测试客户".into();
                Some("not_allowed")
            }
            _ => None,
        };
    }
}
