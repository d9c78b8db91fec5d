//! How alive, how valuable and how much they owe, at scale: the ledger, activity (with
//! BG/NBD), aging and tier stages on `TALLY_BENCH_CUSTOMERS` customers (default
//! 1,000,000) and `TALLY_BENCH_INVOICES` invoices (default 20,000,000; credit notes and
//! receipts come in addition), read from Parquet. Prints each stage's seconds, the
//! whole chain's and its peak memory; then the same figures computed by a plain Polars
//! lazy query on the same files, and the ratio.
//!
//! `cargo bench --bench customer_value`. Run by hand: the documents are generated
//! once into the bench-data folder (a few minutes, about 1 GB).

#[allow(dead_code)] // each bench uses part of it
mod common;

use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use common::{data_dir, in_child, peak_mib, size};
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tally::run::RunContext;

const AS_OF: (i32, u32, u32) = (2024, 12, 31);

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(AS_OF.0, AS_OF.1, AS_OF.2).unwrap()
}

fn scan(dir: &Path, name: &str) -> LazyFrame {
    LazyFrame::scan_parquet(dir.join(name).to_str().unwrap().into(), Default::default()).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (customers, invoices) = (size("TALLY_BENCH_CUSTOMERS", 1_000_000), size("TALLY_BENCH_INVOICES", 20_000_000));
    if let [_, mode, dir] = &args[..] {
        let dir = Path::new(dir);
        return match mode.as_str() {
            "--tally" => tally_chain(dir),
            "--polars" => polars_query(dir),
            _ => generate(dir, customers, invoices),
        };
    }
    let dir = data_dir().join(format!("customer_value_{customers}x{invoices}"));
    if !dir.join("documents.parquet").exists() {
        // In a child too: the allocator keeps what generating freed, which the
        // measurements would have to share the machine's memory with.
        in_child(&["--generate", dir.to_str().unwrap()]);
    }
    println!("customer value: {customers} customers, {invoices} invoices ({})", dir.display());
    let tally = in_child(&["--tally", dir.to_str().unwrap()]);
    print!("{tally}");
    let polars = in_child(&["--polars", dir.to_str().unwrap()]);
    print!("{polars}");
    let seconds = |text: &str, key: &str| -> f64 {
        text.lines().find_map(|l| l.trim().strip_prefix(key)?.split_whitespace().next()?.parse().ok()).unwrap()
    };
    let ratio = seconds(&tally, "chain") / seconds(&polars, "polars query");
    println!("tally / polars = {ratio:.2}");
}

/// The four stages as a pipeline runs them, each on the one before's output.
fn tally_chain(dir: &Path) {
    let started = Instant::now();
    // Each column in one piece, as a pipeline's Parquet load gives it.
    let read = |name: &str| {
        let mut table = scan(dir, name).collect().unwrap();
        table.rechunk_mut_par();
        table
    };
    let (customers, documents) = (read("customers.parquet"), read("documents.parquet"));
    println!("  read                {:>8.2} s, peak so far {:.0} MiB", started.elapsed().as_secs_f64(), peak_mib());
    let cx = RunContext::detached(as_of());
    let run = |yaml: &str, inputs: Vec<DataFrame>| {
        let t = Instant::now();
        let stage = tally::stages::build_one(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let out = stage.run(inputs, &cx).unwrap();
        println!("  {:<19} {:>8.2} s, peak so far {:.0} MiB", stage.kind(), t.elapsed().as_secs_f64(), peak_mib());
        out
    };
    let mut ledger = run("ledger: { input: documents, output: ledger }", vec![documents]);
    let ledger = ledger.tables.remove(0);
    let activity = run(
        "activity:
  customers: customers
  ledger: ledger
  output: customer_activity
  status: { prospect: txn_count_all = 0, new: tenure_days < 90, active: days_since_last_txn <= 180, \
         dormant: days_since_last_txn <= 365, churned: 'true' }
  bgnbd: { horizon: 90d }",
        vec![customers, ledger.clone()],
    );
    let aging = run("aging: { ledger: ledger, output: aging }", vec![ledger]);
    let tiered = run(
        "tier:
  input: customer_activity
  aging: aging
  output: tiered
  quantile_tiers: { frequency_tier: txn_days_365d, amount_tier: net_amount_365d }
  rules: { risk: \"overdue_amount > 0.3 * open_amount\", key: \"net_amount_365d >= 500000\", normal: 'true' }
  credit: { grades: [A, B, C, D], initial: C, upgrade_after_on_time_months: 3, downgrade_when: \"max_days_overdue > 60\" }",
        vec![activity.tables[0].clone(), aging.tables[0].clone()],
    );
    if let Some(fit) = activity.report.as_ref().map(|r| &r["bgnbd"]) {
        println!("  bgnbd {}", fit);
    }
    println!("  {} customers tiered", tiered.tables[0].height());
    println!("  chain {:.2} s, peak {:.0} MiB", started.elapsed().as_secs_f64(), peak_mib());
}

/// The same figures as an experienced Polars user computes them in one lazy query:
/// invoices net of their credit notes; per customer and window, purchases, purchase
/// days and amounts; receipts to their invoices, then the oldest first; open amounts
/// aged in buckets; quantile tiers. No BG/NBD: Polars has no optimizer.
fn polars_query(dir: &Path) {
    let started = Instant::now();
    let today = (as_of() - NaiveDate::default()).num_days() as i32;
    let docs =
        scan(dir, "documents.parquet").filter(col("doc_date").cast(DataType::Int32).lt_eq(lit(today))).with_columns([
            col("doc_date").cast(DataType::Int32).alias("day"),
            (col("amount").cast(DataType::Float64) * lit(100.0))
                .round(0, RoundMode::HalfAwayFromZero)
                .cast(DataType::Int64)
                .alias("cents"),
        ]);
    let of = |t: &str| docs.clone().filter(col("doc_type").eq(lit(t)));
    let reds = of("红字发票").group_by([col("original_no")]).agg([col("cents").sum().alias("reversed")]);
    let paid = of("收款单")
        .filter(col("original_no").is_not_null())
        .group_by([col("original_no")])
        .agg([col("cents").sum().alias("paid")]);
    let pool = of("收款单")
        .filter(col("original_no").is_null())
        .group_by([col("customer_id")])
        .agg([col("cents").sum().alias("pool")]);
    let left = JoinArgs::new(JoinType::Left);
    let invoices = of("蓝字发票")
        .join(reds, [col("doc_no")], [col("original_no")], left.clone())
        .join(paid, [col("doc_no")], [col("original_no")], left.clone())
        .join(pool, [col("customer_id")], [col("customer_id")], left.clone())
        .with_column((col("cents") + col("reversed").fill_null(lit(0i64))).alias("net"))
        .with_column((col("net") - col("paid").fill_null(lit(0i64)).clip(lit(0i64), col("net"))).alias("remaining"))
        .sort(["day", "doc_no"], Default::default())
        .with_column(
            (col("remaining").cum_sum(false).over([col("customer_id")]).unwrap() - col("remaining")).alias("before"),
        )
        .with_column(
            (col("remaining") - (col("pool").fill_null(lit(0i64)) - col("before")).clip(lit(0i64), col("remaining")))
                .alias("open"),
        )
        .with_columns([(lit(today) - coalesce(&[col("due_date").cast(DataType::Int32), col("day") + lit(30)]))
            .alias("overdue_days")]);
    let window = |w: i32| col("day").gt(lit(today - w)).and(col("net").gt(lit(0i64)));
    let mut aggs = Vec::new();
    for (w, days) in [("90d", 90), ("365d", 365), ("all", 100_000)] {
        aggs.push(window(days).sum().alias(format!("txn_count_{w}")));
        aggs.push(col("day").filter(window(days)).n_unique().alias(format!("txn_days_{w}")));
        aggs.push(col("net").filter(window(days)).sum().alias(format!("net_{w}")));
    }
    aggs.extend([
        col("day").filter(col("net").gt(lit(0i64))).min().alias("first"),
        col("day").filter(col("net").gt(lit(0i64))).max().alias("last"),
        col("open").sum().alias("open"),
        col("open").filter(col("overdue_days").gt(lit(0))).sum().alias("overdue"),
        col("overdue_days").filter(col("open").gt(lit(0i64))).max().alias("max_days_overdue"),
    ]);
    for (name, lo, hi) in [
        ("not_due", i32::MIN, 0),
        ("1_30", 1, 30),
        ("31_60", 31, 60),
        ("61_90", 61, 90),
        ("91_180", 91, 180),
        ("181_365", 181, 365),
        ("over_365", 366, i32::MAX),
    ] {
        let within = col("overdue_days").gt_eq(lit(lo)).and(col("overdue_days").lt_eq(lit(hi)));
        aggs.push(col("open").filter(within).sum().alias(name));
    }
    let per_customer = invoices.group_by([col("customer_id")]).agg(aggs);
    let quantile = |c: &str| {
        let rank =
            col(c).rank(RankOptions { method: RankMethod::Min, descending: false }, None).cast(DataType::Float64);
        let share = (rank - lit(1.0)) / col(c).count().cast(DataType::Float64);
        when(share.clone().gt_eq(lit(0.8)))
            .then(lit("high"))
            .when(share.gt_eq(lit(0.5)))
            .then(lit("mid"))
            .otherwise(lit("low"))
    };
    let table = scan(dir, "customers.parquet")
        .join(per_customer, [col("master_id")], [col("customer_id")], left)
        .with_columns([quantile("txn_days_365d").alias("frequency_tier"), quantile("net_365d").alias("amount_tier")])
        .collect()
        .unwrap();
    println!("  {} customers", table.height());
    println!("  polars query {:.2} s, peak {:.0} MiB", started.elapsed().as_secs_f64(), peak_mib());
}

/// Customers, and their documents as the ledger reads them: invoices over three years
/// (a few customers buy most), credit notes for 5% of them, receipts for most (some
/// late, some partial, a quarter not naming their invoice), due dates 30 to 90 days on,
/// 3% missing.
fn generate(dir: &Path, customers: usize, invoices: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let first = (NaiveDate::from_ymd_opt(2022, 1, 1).unwrap() - NaiveDate::default()).num_days() as i32;
    let span = (as_of() - NaiveDate::from_ymd_opt(2022, 1, 1).unwrap()).num_days() as i32;
    let ids: Vec<String> = (0..customers).map(|c| format!("M{c:07}")).collect();
    let mut customers_df = df! { "master_id" => &ids }.unwrap();
    let mut columns: [Vec<Option<String>>; 3] = Default::default(); // doc_no, original_no, customer_id
    let (mut types, mut dates, mut dues, mut cents) = (Vec::new(), Vec::new(), Vec::new(), Vec::<i64>::new());
    let mut push = |no: String,
                    kind: &'static str,
                    original: Option<String>,
                    who: &str,
                    day: i32,
                    due: Option<i32>,
                    amount: i64| {
        columns[0].push(Some(no));
        columns[1].push(original);
        columns[2].push(Some(who.to_string()));
        types.push(kind);
        dates.push(day);
        dues.push(due);
        cents.push(amount);
    };
    for i in 0..invoices {
        // Squared, so that low numbers buy more often.
        let u: f64 = rng.random();
        let who = &ids[((u * u) * customers as f64) as usize];
        let day = first + rng.random_range(0..span);
        let amount = rng.random_range(100..5_000_000i64);
        let due = (rng.random::<f64>() > 0.03).then(|| day + rng.random_range(30..=90));
        let no = format!("FP{i:09}");
        if rng.random::<f64>() < 0.05 {
            let red = rng.random_range(1..=amount);
            push(format!("HZ{i:09}"), "红字发票", Some(no.clone()), who, day + rng.random_range(0..30), None, -red);
        }
        let paying: f64 = rng.random();
        if paying < 0.8 {
            let paid = if paying < 0.1 { amount / 2 } else { amount };
            let reference = (rng.random::<f64>() > 0.25).then(|| no.clone());
            push(format!("SK{i:09}"), "收款单", reference, who, day + rng.random_range(10..120), None, paid);
        }
        push(no, "蓝字发票", None, who, day, due, amount);
    }
    let [doc_no, original_no, customer_id] = columns;
    let date = |name: &str, days: Vec<Option<i32>>| Series::new(name.into(), days).cast(&DataType::Date).unwrap();
    let height = types.len();
    let mut documents = DataFrame::new(
        height,
        vec![
            Series::new("doc_no".into(), doc_no).into_column(),
            Series::new("doc_type".into(), types).into_column(),
            Series::new("original_no".into(), original_no).into_column(),
            Series::new("customer_id".into(), customer_id).into_column(),
            date("doc_date", dates.into_iter().map(Some).collect()).into_column(),
            date("due_date", dues).into_column(),
            Series::new("amount".into(), cents).into_column(),
        ],
    )
    .unwrap()
    .lazy()
    .with_column(tally::values::from_cents(col("amount")))
    .collect()
    .unwrap();
    let write = |name: &str, df: &mut DataFrame| {
        let file = std::fs::File::create(dir.join(name)).unwrap();
        ParquetWriter::new(file).finish(df).unwrap();
    };
    write("customers.parquet", &mut customers_df);
    // Renamed into place last, so that a generation cut short is not taken as done.
    write("documents.parquet.partial", &mut documents);
    std::fs::rename(dir.join("documents.parquet.partial"), dir.join("documents.parquet")).unwrap();
}
