//! The clean stage's work. Each configured column is normalized by one parallel pass
//! (rayon over its values) that yields a struct of value, extras and failure code;
//! everything after that (flags, rejects, summary) is Polars expressions.

use polars::prelude::*;
use rayon::prelude::*;

use super::fx::{fx_error_name, fx_error_text};
use super::normalize::{MONEY_PRECISION, Normalizer, Outcome};
use super::{Clean, OnInvalid, error_name, raw_name, summary};
use crate::rejects::{self, Origin};
use crate::stages::{Batch, Stage};
use crate::values::{parse_date, parse_decimal};

const INPUT_ROW: &str = "__input_row";

fn struct_name(column: &str) -> String {
    format!("__cleaned_{column}")
}

/// The cleaned columns, without flags; `inputs` in the order of the stage's inputs.
pub fn plan(config: &Clean, inputs: Vec<LazyFrame>) -> PolarsResult<LazyFrame> {
    let mut inputs = config.inputs().iter().map(|i| i.table.as_str()).zip(inputs);
    let (_, mut lf) = inputs.next().expect("the input table comes first");
    let lookups: std::collections::HashMap<&str, LazyFrame> = inputs.collect();
    let schema = lf.collect_schema()?;
    let raws = config.columns.keys().map(|c| col(c.as_str()).alias(raw_name(c)));
    // Decimals that fit money whatever their values (no more decimals than its scale,
    // no more whole digits than it holds) need no struct of value and failure: a column
    // of 35 million empty failure codes cost 560 MB.
    let lossless = |c: &str, n: Normalizer| match (n, schema.get(c)) {
        (Normalizer::Money { scale }, Some(DataType::Decimal(p, s))) => *s <= scale && p - s + scale <= MONEY_PRECISION,
        _ => false,
    };
    let structs = config.columns.iter().filter(|(c, cc)| !lossless(c, cc.normalizer())).map(|(c, cc)| {
        let near = cc.area_code_from.as_ref().map(|a| col(a.value.as_str()));
        let cleaned = match (cc.normalizer(), schema.get(c.as_str())) {
            (Normalizer::Money { scale }, Some(DataType::Decimal(_, from))) => decimal_money(c, *from, scale),
            (n, _) => normalized(col(c.as_str()), near, n),
        };
        cleaned.alias(struct_name(c))
    });
    lf = lf.with_columns(raws.chain(structs).collect::<Vec<_>>());

    let mut columns = Vec::new();
    for (name, cc) in &config.columns {
        let n = cc.normalizer();
        let field = |f: &str| match f {
            "value" if lossless(name, n) => col(raw_name(name)).cast(n.dtype()),
            _ if lossless(name, n) => lit(NULL).cast(DataType::String),
            _ => col(struct_name(name)).struct_().field_by_name(f),
        };
        let failed = field("error").is_not_null();
        let value = match cc.on_invalid {
            OnInvalid::Keep => {
                when(failed.clone()).then(col(raw_name(name)).cast(DataType::String)).otherwise(field("value"))
            }
            _ => field("value"),
        };
        columns.push(value.alias(name.as_str()));
        columns.extend(n.extras().iter().map(|e| field(e).alias(format!("{name}_{e}"))));
        if cc.keep_original {
            columns.push(col(raw_name(name)).alias(format!("{name}_original")));
        }
        // A kept value is flagged too: it is still not a cleaned value.
        if cc.on_invalid != OnInvalid::Reject {
            columns.push(failed.alias(format!("{name}_invalid")));
        }
        columns.push(field("error").alias(error_name(name)));
    }
    let structs = config.columns.iter().filter(|(c, cc)| !lossless(c, cc.normalizer())).map(|(c, _)| struct_name(c));
    lf = lf.with_columns(columns).drop(cols(structs.collect::<Vec<_>>()));
    // An empty value takes another cleaned column's: the contact written in a phone cell.
    let fills: Vec<Expr> = config
        .columns
        .iter()
        .filter_map(|(name, cc)| {
            let from = cc.fill_from.as_ref()?;
            Some(coalesce(&[col(name.as_str()), col(from.value.as_str())]).alias(name.as_str()))
        })
        .collect();
    if !fills.is_empty() {
        lf = lf.with_columns(fills);
    }
    for (name, cc, fx) in config.conversions() {
        let Normalizer::Money { scale } = cc.normalizer() else { continue };
        lf = fx.apply(lf, lookups[fx.rates.as_str()].clone(), name, scale)?;
    }
    Ok(lf)
}

/// A column normalized value by value, in parallel, as a struct of `value`, one
/// field per extra, and `error`; `near` is another column the normalizer reads.
fn normalized(e: Expr, near: Option<Expr>, n: Normalizer) -> Expr {
    let output = move |_: &Schema, f: &Field| Ok(Field::new(f.name().clone(), struct_dtype(n)));
    match near {
        None => e.cast(DataType::String).map(move |c| normalize_column(&c, None, n).map(Column::from), output),
        Some(near) => as_struct(vec![e.cast(DataType::String).alias("v"), near.cast(DataType::String).alias("near")])
            .map(
                move |c| {
                    let fields = c.struct_()?.fields_as_series();
                    let values = fields[0].clone().with_name(c.name().clone()).into_column();
                    normalize_column(&values, Some(&fields[1].clone().into_column()), n).map(Column::from)
                },
                output,
            ),
    }
}

/// An amount that is already a decimal (a typed Parquet column, a loaded schema's
/// decimal) is money as it stands: it is cast, not printed and parsed back. As the text
/// path, it is refused (`bad_amount`) when it has more decimals than `scale` or more
/// digits than money holds.
fn decimal_money(column: &str, from: usize, scale: usize) -> Expr {
    let amount = col(column);
    let value = amount.clone().cast(DataType::Decimal(MONEY_PRECISION, scale));
    let wide = DataType::Decimal(38, from.max(scale));
    let kept = value.clone().cast(wide.clone()).eq(amount.clone().cast(wide)).fill_null(lit(false));
    let failed = amount.is_not_null().and(kept.clone().not());
    as_struct(vec![
        when(kept).then(value).otherwise(lit(NULL).cast(DataType::Decimal(MONEY_PRECISION, scale))).alias("value"),
        when(failed).then(lit("bad_amount")).otherwise(lit(NULL).cast(DataType::String)).alias("error"),
    ])
}

fn struct_dtype(n: Normalizer) -> DataType {
    let mut fields = vec![Field::new("value".into(), n.dtype())];
    fields.extend(n.extras().iter().map(|e| {
        let dtype = if n.is_list(e) { DataType::List(Box::new(DataType::String)) } else { DataType::String };
        Field::new((*e).into(), dtype)
    }));
    fields.push(Field::new("error".into(), DataType::String));
    DataType::Struct(fields)
}

fn normalize_column(c: &Column, near: Option<&Column>, n: Normalizer) -> PolarsResult<Series> {
    let values: Vec<Option<&str>> = c.str()?.iter().collect();
    let near: Vec<Option<&str>> = match near {
        Some(near) => near.str()?.iter().collect(),
        None => vec![None; values.len()],
    };
    let outcomes: Vec<Option<Outcome>> =
        values.par_iter().zip(&near).with_min_len(1024).map(|(v, near)| v.map(|s| n.apply_near(s, *near))).collect();
    let text = |name: &str, get: &dyn Fn(&Outcome) -> Option<&str>| {
        StringChunked::from_iter_options(name.into(), outcomes.iter().map(|o| o.as_ref().and_then(get))).into_series()
    };
    let mut fields = vec![typed_values(&outcomes, n)];
    for (i, extra) in n.extras().iter().enumerate() {
        if n.is_list(extra) {
            // The items, separated by `;` in the outcome, as a list column.
            let items: Vec<Option<&str>> =
                outcomes.iter().map(|o| o.as_ref().and_then(|o| o.extras[i].as_deref())).collect();
            let total = items.iter().flatten().map(|v| v.split(';').count()).sum();
            let mut list = ListStringChunkedBuilder::new((*extra).into(), outcomes.len(), total);
            for item in &items {
                match item {
                    Some(v) => list.append_values_iter(v.split(';')),
                    None => list.append_null(),
                }
            }
            fields.push(list.finish().into_series());
        } else {
            fields.push(text(extra, &|o| o.extras[i].as_deref()));
        }
    }
    fields.push(text("error", &|o| o.error));
    Ok(StructChunked::from_series(c.name().clone(), c.len(), fields.iter())?.into_series())
}

/// The cleaned values in the normalizer's type. Dates and amounts come back as
/// canonical text (`2024-03-05`, `1234.50`) and are read straight into their types.
fn typed_values(outcomes: &[Option<Outcome>], n: Normalizer) -> Series {
    let values = outcomes.iter().map(|o| o.as_ref().and_then(|o| o.value.as_deref()));
    match n {
        Normalizer::Date => {
            let epoch = chrono::NaiveDate::default();
            let days = values.map(|v| v.and_then(parse_date).map(|d| (d - epoch).num_days() as i32));
            Int32Chunked::from_iter_options("value".into(), days).into_date().into_series()
        }
        Normalizer::Money { scale } => {
            let units = values.map(|v| v.and_then(|v| parse_decimal(v, MONEY_PRECISION, scale)));
            Int128Chunked::from_iter_options("value".into(), units)
                .into_decimal_unchecked(MONEY_PRECISION, scale)
                .into_series()
        }
        _ => StringChunked::from_iter_options("value".into(), values).into_series(),
    }
}

/// One batch (or all) of the input cleaned: its rows, rejects and tallies.
pub fn run_batch(config: &Clean, inputs: Vec<DataFrame>) -> PolarsResult<Batch> {
    let input_schema = inputs[0].schema().clone();
    let input_columns: Vec<String> =
        input_schema.iter_names().filter(|c| c.as_str() != rejects::ORIGIN).map(|c| c.to_string()).collect();
    let mut lazy: Vec<LazyFrame> = inputs.into_iter().map(DataFrame::lazy).collect();
    lazy[0] = lazy[0].clone().with_row_index(INPUT_ROW, Some(1));
    let full = config.flagged(plan(config, lazy)?).collect()?;
    let partial = summary::tally(config, &full)?;

    // (column, working column of its failure code, reason prefix) of every check that rejects.
    let rejecting: Vec<(&String, String, &str)> = config
        .columns
        .iter()
        .filter(|(_, c)| c.on_invalid == OnInvalid::Reject)
        .map(|(n, _)| (n, error_name(n), "invalid_"))
        .chain(config.conversions().map(|(n, _, _)| (n, fx_error_name(n), "")))
        .collect();
    let rejected =
        rejecting.iter().map(|(_, e, _)| col(e.as_str()).is_not_null()).reduce(|a, b| a.or(b)).unwrap_or(lit(false));
    let origin =
        Origin::carried(format!("clean:{}", config.output()), &input_schema, &config.inputs()[0].table, INPUT_ROW);
    let record = record(config, &input_columns);
    let entries: Vec<LazyFrame> = rejecting
        .iter()
        .map(|(c, error, prefix)| {
            let normalize = config.columns[*c].normalize.value.name();
            let (reason, detail) = if prefix.is_empty() {
                (fx_error_text(col(error.as_str())), "cannot convert to the base currency".to_string())
            } else {
                let reason = concat_str([lit(*prefix), col(error.as_str())], "", false);
                (reason, format!("{normalize} could not clean this value"))
            };
            full.clone().lazy().filter(col(error.as_str()).is_not_null()).select(rejects::entry(
                &origin,
                Some(c.as_str()),
                col(raw_name(c)),
                reason,
                lit(detail),
                record.clone(),
            ))
        })
        .collect();
    let rejects = if entries.is_empty() {
        None
    } else {
        Some(
            concat(entries, UnionArgs::default())?
                .sort(["source", rejects::ROW_COLUMN], SortMultipleOptions::default().with_maintain_order(true))
                .collect()?,
        )
    };
    let working: Vec<String> = full
        .get_column_names()
        .iter()
        .filter(|c| c.starts_with("__") && c.as_str() != rejects::ORIGIN)
        .map(|c| c.to_string())
        .collect();
    // Filtering copies every column; most runs reject nothing.
    let kept = match &rejects {
        Some(r) if r.height() > 0 => full.lazy().filter(rejected.not()),
        _ => full.lazy(),
    };
    let table = kept.drop(cols(working)).collect()?;
    Ok(Batch { rows: Some(table), rejects, partial })
}

/// The input row as it came in, for the rejects: cleaned columns by their raw values.
fn record(config: &Clean, input_columns: &[String]) -> Expr {
    rejects::record(input_columns.iter().map(|c| {
        let source = if config.columns.contains_key(c) { col(raw_name(c)) } else { col(c.as_str()) };
        (c.as_str(), source)
    }))
}
