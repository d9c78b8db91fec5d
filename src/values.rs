//! Per-value parsers for the layouts real exports use, shared by the loader's casts
//! and the clean stage's normalizers, applied to whole columns in
//! parallel with rayon. Polars can express these with regexes, but a date in five
//! layouts took six regex passes per column; one hand-written pass is 20x faster.

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;

/// `2024-03-05`, `2024/3/5`, `2024.3.5`, `2024年3月5日`, `20240305`, each optionally
/// followed by a time (`2024-03-05 10:30:00`, `2024-03-05T10:30`), which is ignored;
/// or an Excel serial day number (`45356`, from a cell not formatted as a date).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Some(date) = excel_serial(s) {
        return Some(date);
    }
    let date_part = s.split([' ', 'T']).next()?;
    let rest = &s[date_part.len()..];
    if !rest.is_empty() && !rest[1..].chars().all(|c| c.is_ascii_digit() || c == ':' || c == '.') {
        return None;
    }
    let (y, m, d) = if date_part.len() == 8 && date_part.bytes().all(|b| b.is_ascii_digit()) {
        (&date_part[..4], &date_part[4..6], &date_part[6..])
    } else {
        let body = date_part.strip_suffix('日').unwrap_or(date_part);
        let mut parts = body.split(['-', '/', '.', '年', '月']);
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || !(1..=2).contains(&m.len()) || !(1..=2).contains(&d.len()) {
            return None;
        }
        // The separators must be consistent: 年 goes with 月, and '-' with '-'.
        let seps: Vec<char> = body.chars().filter(|c| !c.is_ascii_digit()).collect();
        if !(seps == ['年', '月'] || (seps.len() == 2 && seps[0] == seps[1] && seps[0] != '年')) {
            return None;
        }
        (y, m, d)
    };
    let num = |t: &str| if t.bytes().all(|b| b.is_ascii_digit()) { t.parse::<u32>().ok() } else { None };
    NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?)
}

/// Excel's 1900 date system counts days from 1899-12-30 (for serials past its fictitious
/// 1900-02-29). Only five-digit serials are taken (1927 to 2173), so that no other
/// number is mistaken for a date.
fn excel_serial(s: &str) -> Option<NaiveDate> {
    let days =
        s.split_once('.').map_or(s, |(int, frac)| if frac.bytes().all(|b| b.is_ascii_digit()) { int } else { "" });
    if days.len() != 5 || !days.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(days.parse().ok()?))
}

/// An amount as fixed-point integer of `scale` decimals: `¥1,234.50`, `1,234.50元`,
/// `RMB 1234.5`, `(1,234.50)` and SAP's `1234.50-` (negative), `-0.5`, and in Chinese
/// units of count: `200万`, `1.5亿`, `3千元` (200 × 10⁴, 1.5 × 10⁸, 3 × 10³). More
/// decimals than `scale` (other than trailing zeros) or more than `precision` digits is
/// invalid: money is never rounded silently.
pub fn parse_decimal(s: &str, precision: usize, scale: usize) -> Option<i128> {
    let mut t = s.trim();
    for unit in ["人民币", "RMB", "CNY"] {
        t = t.strip_prefix(unit).or_else(|| t.strip_suffix(unit)).unwrap_or(t).trim();
    }
    t = t.strip_suffix('元').unwrap_or(t).trim();
    // 1.5亿 is 1.5 read with 8 more decimals: the same digits, ten to the 8th larger.
    for (unit, exponent) in [("千万", 7), ("百万", 6), ("亿", 8), ("万", 4), ("千", 3)] {
        if let Some(number) = t.strip_suffix(unit) {
            return parse_decimal(number, precision, scale + exponent);
        }
    }
    let mut negative = false;
    if let Some(inner) = t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        (negative, t) = (true, inner.trim());
    } else if let Some(inner) = t.strip_suffix('-') {
        (negative, t) = (true, inner.trim());
    }
    if let Some(inner) = t.strip_prefix('-') {
        (negative, t) = (!negative, inner.trim());
    } else if let Some(inner) = t.strip_prefix('+') {
        t = inner.trim();
    }
    t = t.trim_start_matches(['¥', '￥', '$', '€']).trim_start();
    let (int_part, frac_part) = t.split_once('.').unwrap_or((t, ""));
    let int_digits: String = int_part.chars().filter(|&c| c != ',').collect();
    let grouping_ok = !int_part.contains(',') || int_part.split(',').skip(1).all(|g| g.len() == 3);
    let frac_kept = frac_part.trim_end_matches('0');
    if (int_digits.is_empty() && frac_part.is_empty())
        || !grouping_ok
        || !int_digits.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit())
        || frac_kept.len() > scale
    {
        return None;
    }
    let int_digits = int_digits.trim_start_matches('0');
    if int_digits.len() + scale > precision {
        return None;
    }
    let mut value: i128 = if int_digits.is_empty() { 0 } else { int_digits.parse().ok()? };
    for i in 0..scale {
        value = value * 10 + frac_kept.as_bytes().get(i).map_or(0, |b| (b - b'0') as i128);
    }
    Some(if negative { -value } else { value })
}

/// Applies `f` to every value of a string column in parallel, keeping nulls.
fn map_strings<T: Send>(column: &Column, f: impl Fn(&str) -> Option<T> + Sync) -> PolarsResult<Vec<Option<T>>> {
    let values: Vec<Option<&str>> = column.str()?.iter().collect();
    Ok(values.par_iter().with_min_len(4096).map(|v| v.and_then(&f)).collect())
}

/// Expression: text without the spaces around it. A column in which no value has any
/// is returned as it is, not copied: typed exports rarely have them, and copying 35
/// million strings to change none cost seconds.
pub fn stripped(e: Expr) -> Expr {
    text_where(e, |s| s.trim().len() != s.len(), |s| Some(s.trim()))
}

/// Expression: blank text (empty, or only spaces) as no value; the column as it is
/// when none is blank.
pub fn blank_as_null(e: Expr) -> Expr {
    text_where(e, |s| s.trim().is_empty(), |s| if s.trim().is_empty() { None } else { Some(s) })
}

/// `f` over a text column, applied only if some value is `affected`; otherwise the
/// column itself, shared.
fn text_where(e: Expr, affected: fn(&str) -> bool, f: for<'a> fn(&'a str) -> Option<&'a str>) -> Expr {
    e.cast(DataType::String).map(
        move |c| {
            let ca = c.str()?;
            if !ca.downcast_iter().collect::<Vec<_>>().par_iter().any(|a| a.values_iter().any(affected)) {
                return Ok(c);
            }
            Ok(StringChunked::from_iter_options(c.name().clone(), ca.iter().map(|v| v.and_then(f))).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// Expression: each value of a string column that `vocabulary` knows (by its
/// [`header_key`](crate::config::header_key): case, width and spaces aside) replaced by
/// the canonical value it stands for; other values are kept.
pub fn translated(e: Expr, vocabulary: std::sync::Arc<HashMap<String, String>>) -> Expr {
    e.map(
        move |c| {
            let values = map_strings(&c, |s| {
                Some(vocabulary.get(&crate::config::header_key(s)).map_or_else(|| s.to_string(), String::clone))
            })?;
            Ok(StringChunked::from_iter_options(c.name().clone(), values.into_iter()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// Expression: a string column parsed to dates; null where a value does not parse.
pub fn dates(e: Expr) -> Expr {
    e.map(
        |c| {
            let days = map_strings(&c, |s| parse_date(s).map(|d| (d - NaiveDate::default()).num_days() as i32))?;
            Ok(Int32Chunked::from_iter_options(c.name().clone(), days.into_iter()).into_date().into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Date)),
    )
}

/// Expression: a string column parsed to `Decimal(precision, scale)`.
pub fn decimals(e: Expr, precision: usize, scale: usize) -> Expr {
    e.map(
        move |c| {
            let values = map_strings(&c, |s| parse_decimal(s, precision, scale))?;
            let ca = Int128Chunked::from_iter_options(c.name().clone(), values.into_iter());
            Ok(ca.into_decimal_unchecked(precision, scale).into_column())
        },
        move |_, f| Ok(Field::new(f.name().clone(), DataType::Decimal(precision, scale))),
    )
}

/// Expression: a decimal column as whole cents (Int64), exactly: money is summed and
/// applied in integers, never in floats. A value with more than two places does not
/// fit and is an error, as is a column that is not decimal.
pub fn cents(e: Expr) -> Expr {
    e.map(
        |c| {
            let decimal = c.decimal()?;
            let scale = decimal.scale();
            polars_ensure!(scale <= 2, InvalidOperation: "'{}' has {scale} decimal places; money needs at most 2", c.name());
            let factor = 10i128.pow((2 - scale) as u32);
            let cents: Int64Chunked =
                decimal.physical().apply_nonnull_values_generic(DataType::Int64, |v| (v * factor) as i64);
            Ok(cents.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Int64)),
    )
}

/// Aggregation: the sum of whole cents where `condition` holds, 0 where it never does.
/// In a group-by, a masked sum keeps Polars' fast path that a filter in the
/// aggregation (which regroups the rows) loses.
pub fn sum_where(cents: Expr, condition: Expr) -> Expr {
    when(condition).then(cents).otherwise(lit(0i64)).sum()
}

/// Expression: whole cents (Int64) as `Decimal(18, 2)`, for an output.
pub fn from_cents(e: Expr) -> Expr {
    e.cast(DataType::Int64).map(
        |c| {
            let cents: Int128Chunked = c.i64()?.apply_nonnull_values_generic(DataType::Int128, i128::from);
            Ok(cents.into_decimal_unchecked(MONEY_PRECISION, 2).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Decimal(MONEY_PRECISION, 2))),
    )
}

/// Expression: `a × b ÷ c` rounded half away from zero (四舍五入), in 128-bit integers
/// so that no product of two amounts in cents overflows; null where `c` is 0.
pub fn scaled(a: Expr, b: Expr, c: Expr) -> Expr {
    let parts = vec![
        a.cast(DataType::Int64).alias("a"),
        b.cast(DataType::Int64).alias("b"),
        c.cast(DataType::Int64).alias("c"),
    ];
    as_struct(parts).map(
        |s| {
            let fields = s.struct_()?.fields_as_series();
            let (a, b, c) = (fields[0].i64()?, fields[1].i64()?, fields[2].i64()?);
            let each = |((a, b), c): ((Option<i64>, Option<i64>), Option<i64>)| {
                let (p, c) = (i128::from(a?) * i128::from(b?), i128::from(c?));
                let q = (p.abs() * 2 + c.abs()).checked_div(c.abs() * 2)?;
                i64::try_from(q * p.signum() * c.signum()).ok()
            };
            let out: Int64Chunked = a.iter().zip(b.iter()).zip(c.iter()).map(each).collect();
            Ok(out.with_name(s.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Int64)),
    )
}

/// Money columns are decimals of this precision.
pub const MONEY_PRECISION: usize = 18;

/// Cents as the decimal text a person reads, `-1234.05`.
pub fn cents_text(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.unsigned_abs() / 100, cents.unsigned_abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_rounds_half_away_from_zero_without_overflow() {
        let out = df! { "a" => [1i64, -1, 3333, 5, -5, i64::MAX / 2], "b" => [1i64, 1, 70000, 1, 1, 4], "c" => [2i64, 2, 10000, 0, 3, 4] }
            .unwrap()
            .lazy()
            .select([scaled(col("a"), col("b"), col("c")).alias("x")])
            .collect()
            .unwrap();
        let x: Vec<Option<i64>> = out.column("x").unwrap().i64().unwrap().iter().collect();
        assert_eq!(x, [Some(1), Some(-1), Some(23331), None, Some(-2), Some(i64::MAX / 2)]);
    }

    #[test]
    fn dates_in_export_layouts() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 5);
        for s in [
            "2024-03-05",
            "2024/3/5",
            "2024.3.5",
            "2024年3月5日",
            "2024年03月05日",
            "20240305",
            " 2024-3-5 ",
            "2024-03-05 10:30:00",
            "2024/03/05T08:00",
        ] {
            assert_eq!(parse_date(s), d, "{s}");
        }
        for s in [
            "2024-02-30",
            "2023/13/01",
            "未知",
            "0000-00-00",
            "2024-03",
            "24-3-5",
            "2024-3/5",
            "2024年3-5",
            "20240305x",
            "2024-03-05 noon",
            "",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
        assert_eq!(parse_date("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(parse_date("45356"), d, "Excel serial");
        assert_eq!(parse_date("45356.75"), d, "Excel serial with a time");
        assert_eq!(parse_date("4535"), None);
        assert_eq!(parse_date("453560"), None);
    }

    #[test]
    fn amounts_with_signs_symbols_and_separators() {
        let cents = |s| parse_decimal(s, 18, 2);
        assert_eq!(cents("¥1,234.50"), Some(123450));
        assert_eq!(cents("￥1,234.50"), Some(123450));
        assert_eq!(cents("1,234.50元"), Some(123450));
        assert_eq!(cents("RMB 1234.5"), Some(123450));
        assert_eq!(cents("(1,234.50)"), Some(-123450));
        assert_eq!(cents("1234.50-"), Some(-123450));
        assert_eq!(cents("-0.5"), Some(-50));
        assert_eq!(cents("50000"), Some(5000000));
        assert_eq!(cents(".75"), Some(75));
        assert_eq!(cents("1.2300"), Some(123));
        for bad in ["待定", "N/A", "1.234", "12,34.00", "1.2.3", "", "-", "¥", "1e5", "--1"] {
            assert_eq!(cents(bad), None, "{bad}");
        }
        assert_eq!(parse_decimal("12345", 5, 2), None, "needs 7 digits of precision");
        assert_eq!(parse_decimal("7.123456", 18, 6), Some(7123456));
    }

    #[test]
    fn amounts_in_chinese_units_of_count() {
        let cents = |s| parse_decimal(s, 18, 2);
        assert_eq!(cents("200万"), Some(2_000_000 * 100));
        assert_eq!(cents("1.5亿"), Some(150_000_000 * 100));
        assert_eq!(cents("3千元"), Some(3_000 * 100));
        assert_eq!(cents("¥12.3456万元"), Some(123_456 * 100));
        assert_eq!(cents("-2.5千万"), Some(-25_000_000 * 100));
        assert_eq!(cents("1.2345678万"), None, "a fraction of a cent is not rounded");
        assert_eq!(parse_decimal("99999万", 10, 2), None, "needs 11 digits of precision");
        assert_eq!(cents("万"), None);
    }
}
