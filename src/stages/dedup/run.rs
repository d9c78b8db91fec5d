//! The dedup stage's work, phase by phase: records, blocking, comparing, training,
//! scoring, clustering, survivorship. Each phase is timed for the manifest.

use std::time::Instant;

use polars::prelude::*;
use rayon::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::blocking::{self, Census, Rule, candidates};
use super::cluster::{Clustering, LinkFate, cluster};
use super::compare::Comparison;
use super::explain::{Columns, Decision, Scored, comparison_weights, pairs_table, review_queue};
use super::golden::{KEY, MASTER, ROW, SIZE, golden};
use super::model::{self, ComparisonModel, Model, RuleModel, Training, probability};
use super::reviewed::{self, Reviewed, Verdict};
use super::{Dedup, DedupConfig, LINK_SOURCE};
use crate::rejects::{self, Origin};
use crate::stages::{Effect, Finding, Severity, Sql, StageOutput};

/// Times each phase for the report.
struct Phases(Vec<(&'static str, f64)>, Instant);

impl Phases {
    fn done(&mut self, phase: &'static str) {
        self.0.push((phase, self.1.elapsed().as_secs_f64()));
        self.1 = Instant::now();
    }
}

pub fn run(dedup: &Dedup, mut inputs: Vec<DataFrame>) -> PolarsResult<StageOutput> {
    let config = &dedup.config;
    let mut phases = Phases(Vec::new(), Instant::now());
    let decisions_table = config.reviewed.as_ref().and_then(|_| inputs.pop());
    let (records, rejected) = checked_records(config, inputs)?;
    // In link mode the left table's records come first; pairs must cross the split.
    let link_split = match &config.left {
        Some(left) => {
            let tables = records.column(LINK_SOURCE)?.str()?.clone();
            Some(tables.iter().take_while(|t| *t == Some(left.as_str())).count() as u32)
        }
        None => None,
    };
    let source = config.source_column();
    let reviewed = match &decisions_table {
        Some(table) => reviewed::read(config, &records, table)?,
        None => Reviewed::none(),
    };
    phases.done("prepare");

    let rules = &dedup.rules;
    let found = candidates(&records, rules, config.max_block_size, link_split)?;
    let pair_count = found.left.len();
    phases.done("blocking");

    // Comparisons hold their values in the pairs' layout; the rest goes by input row.
    let comparisons = comparisons(config, &records, &found.order)?;
    let k = comparisons.len();
    let mut levels = vec![0u8; pair_count * k];
    levels.par_chunks_mut(k.max(1)).enumerate().for_each(|(i, out)| {
        let (a, b) = (found.left[i] as usize, found.right[i] as usize);
        for (slot, c) in out.iter_mut().zip(&comparisons) {
            *slot = c.level(a, b);
        }
    });
    phases.done("comparing");

    let rule_labels: Vec<String> = rules.iter().map(|r| r.label.clone()).collect();
    let model = match &dedup.model {
        Some(path) => load_model(path, &comparisons, &rule_labels)?,
        None => train(config, &comparisons, rules, records.height(), link_split, (&levels, &found.rule)),
    };
    phases.done("training");

    let mut table = model.weight_table();
    table.center_term_frequencies(&found.rule, |i, j| {
        let (c, (a, b)) = (&comparisons[j], (found.left[i] as usize, found.right[i] as usize));
        let tf = c.tf.as_ref()?;
        (c.equality_level() == Some(levels[i * k + j])).then(|| f64::from(tf[a].max(tf[b])))
    });
    let weights: Vec<f64> = (0..pair_count)
        .into_par_iter()
        .map(|i| {
            let (a, b) = (found.left[i] as usize, found.right[i] as usize);
            let rule = found.rule[i] as usize;
            let levels = &levels[i * k..(i + 1) * k];
            model.rules[rule].prior_weight()
                + comparison_weights(&table, &comparisons, rule, (a, b), levels).sum::<f64>()
        })
        .collect();
    let mut decisions = decide(config, &found.rule, &weights);
    phases.done("scoring");

    // The pairs by input row, for everything that reads the records table.
    let input_rows = |side: &[u32]| side.par_iter().map(|&p| found.order[p as usize]).collect::<Vec<_>>();
    let (left_rows, right_rows) = (input_rows(&found.left), input_rows(&found.right));
    let mut review_report = reviewed.report.clone();
    review_report.applied_to_candidates = apply_reviewed(&reviewed, (&left_rows, &right_rows), &mut decisions);
    review_report.applied_beyond_candidates = reviewed.pairs.len() - review_report.applied_to_candidates;
    let clustering = clusters(
        (config, &dedup.cannot_link, &reviewed),
        &records,
        (&left_rows, &right_rows),
        &weights,
        &mut decisions,
    )?;
    let clustered = with_master_ids(&records, &clustering.labels, &config.id, source)?;
    phases.done("clustering");

    let columns: Vec<String> = record_columns(&records);
    let (golden_records, lineage) = golden(&clustered, &columns, &dedup.survivorship, source, &config.id)?;
    phases.done("survivorship");

    let mut map_columns = vec![col(config.id.as_str())];
    map_columns.extend(source.map(col));
    map_columns.extend([col(MASTER), col(SIZE)]);
    let map = clustered.clone().lazy().select(map_columns).collect()?;
    let scored = Scored {
        left: &found.left,
        right: &found.right,
        rows: (&left_rows, &right_rows),
        rule: &found.rule,
        levels: &levels,
        weights: &weights,
        decisions: &decisions,
    };
    let names = Columns { id: &config.id, source, show: &config.show, rule_labels: &rule_labels };
    let pairs = pairs_table(&records, &scored, (&model, &table), &comparisons, &names)?;
    let review = review_queue(&pairs)?;
    phases.done("explaining");

    let count = |d: Decision| decisions.iter().filter(|&&x| x == d).count();
    let comparing_seconds = phases.0.iter().find(|(phase, _)| *phase == "comparing").map_or(0.0, |p| p.1);
    let report = json!({
        "records_in": records.height() + rejected.as_ref().map_or(0, |r| r.height()),
        "records_rejected": rejected.as_ref().map_or(0, |r| r.height()),
        "clusters": golden_records.height(),
        "duplicates_found": records.height() - golden_records.height(),
        "cluster_sizes": histogram(&golden_records)?,
        "pairs": {
            "compared": pair_count,
            "per_second": if comparing_seconds > 0.0 { (pair_count as f64 / comparing_seconds).round() } else { 0.0 },
            "by_rule": found.rules,
            "linked": count(Decision::Link),
            "exact_key": count(Decision::ExactKey),
            "review": count(Decision::Review),
            "cannot_link": count(Decision::CannotLink),
            "split": count(Decision::Split),
        },
        "blocks_skipped": found.skipped,
        "reviewed": config.reviewed.as_ref().map(|_| &review_report),
        "components_unchecked": clustering.unchecked_components,
        "model": {
            // Each rule's u is in the model file and sheet; the manifest keeps the summary.
            "rules": model.rules.iter().map(|r| json!({
                "rule": r.rule, "pairs": r.pairs, "prior": r.prior, "left_out": r.left_out,
                "implied": r.implied, "unequal": r.unequal,
            })).collect::<Vec<_>>(),
            "training": model.training,
        },
        "seconds": phases.0.iter().map(|(phase, seconds)| json!({ "phase": phase, "seconds": seconds })).collect::<Vec<_>>(),
    });
    let output = crate::stages::Stage::output(dedup);
    let model_json = serde_json::to_vec_pretty(&model).expect("a model serializes");
    let mut findings = Vec::new();
    if !found.skipped.is_empty() {
        let message = format!(
            "skipped {} blocks over max_block_size ({}); their pairs were not compared (see blocks_skipped in the report)",
            found.skipped.len(),
            config.max_block_size
        );
        findings.push(Finding::new(Severity::Warn, "blocks_skipped", message));
    }
    for rule in found.rules.iter().map(|r| &r.census).filter(|c| c.grows_quadratically()) {
        findings.push(Finding::new(Severity::Warn, "blocking_rule_grows", rule.growth_warning()));
    }
    if review_report.stale + review_report.unreadable > 0 {
        let message = format!(
            "of {} reviewed decisions, {} name a record this run does not have and {} have a verdict that is \
             neither same nor different (是/否); they were not applied",
            review_report.rows, review_report.stale, review_report.unreadable
        );
        findings.push(Finding::new(Severity::Warn, "reviewed_not_applied", message));
    }
    let trained = dedup.model.is_none() && model.comparisons.iter().any(|c| c.fixed_weights.is_none());
    if trained && !model.training.converged {
        let message = format!(
            "EM did not converge in {} iterations (training.max_iterations): the match weights may be off; \
             raise the cap, or check the blocking rules and comparisons",
            config.training.max_iterations
        );
        findings.push(Finding::new(Severity::Warn, "em_not_converged", message));
    }
    Ok(StageOutput {
        tables: vec![golden_records, map, pairs, review, lineage],
        rejects: rejected,
        report: Some(report),
        sheets: vec![
            (format!("{output}_model"), model_table(&model)?),
            (format!("{output}_rules"), rules_table(&model)?),
        ],
        effects: dedup.save_model.iter().map(|path| Effect { path: path.clone(), bytes: model_json.clone() }).collect(),
        files: vec![(format!("{output}_model.json"), model_json)],
        findings,
    })
}

/// Each pair's decision from its probability, before cannot-link rules.
fn decide(config: &DedupConfig, rules: &[u8], weights: &[f64]) -> Vec<Decision> {
    weights
        .iter()
        .zip(rules)
        .map(|(&w, &r)| match probability(w) {
            _ if (r as usize) < config.exact_keys.len() => Decision::ExactKey,
            p if p >= config.threshold.link => Decision::Link,
            p if p >= config.threshold.review => Decision::Review,
            _ => Decision::Distinct,
        })
        .collect()
}

/// Marks candidate pairs a reviewer decided; returns how many were decided.
fn apply_reviewed(reviewed: &Reviewed, (left, right): (&[u32], &[u32]), decisions: &mut [Decision]) -> usize {
    let mut applied = 0;
    for (i, decision) in decisions.iter_mut().enumerate() {
        if let Some(verdict) = reviewed.get(left[i], right[i]) {
            applied += 1;
            *decision = match verdict {
                Verdict::Same => Decision::ReviewedSame,
                Verdict::Different => Decision::ReviewedDifferent,
            };
        }
    }
    applied
}

/// Clusters the linked pairs under the cannot-link rules and the reviewers' "different"
/// verdicts, and marks in `decisions` the links and reviews those refused. Pairs a
/// reviewer called "same" link outright, candidates or not.
fn clusters(
    (config, cannot_link, reviewed): (&DedupConfig, &[Sql], &Reviewed),
    records: &DataFrame,
    (left, right): (&[u32], &[u32]),
    weights: &[f64],
    decisions: &mut [Decision],
) -> PolarsResult<Clustering> {
    let forbid = Forbidden::new(config, cannot_link, records, reviewed)?;
    let review: Vec<usize> = (0..decisions.len()).filter(|&i| decisions[i] == Decision::Review).collect();
    let pick = |side: &[u32], of: &[usize]| of.iter().map(|&i| side[i]).collect::<Vec<_>>();
    let barred = forbid.check(&pick(left, &review), &pick(right, &review))?;
    for (&i, bad) in review.iter().zip(barred) {
        if bad {
            decisions[i] = Decision::CannotLink;
        }
    }
    let linked: Vec<usize> = (0..decisions.len())
        .filter(|&i| matches!(decisions[i], Decision::Link | Decision::ExactKey | Decision::ReviewedSame))
        .collect();
    // A reviewer's "same" is the strongest link there is.
    let strength = |i: usize| if decisions[i] == Decision::ReviewedSame { f64::MAX } else { weights[i] };
    let mut links: Vec<(u32, u32, f64)> = linked.iter().map(|&i| (left[i], right[i], strength(i))).collect();
    let candidates: rustc_hash::FxHashSet<(u32, u32)> =
        left.iter().zip(right).map(|(&a, &b)| (a.min(b), a.max(b))).collect();
    let mut beyond: Vec<(u32, u32, f64)> = reviewed
        .pairs
        .iter()
        .filter(|(pair, v)| **v == Verdict::Same && !candidates.contains(pair))
        .map(|(&(a, b), _)| (a, b, f64::MAX))
        .collect();
    beyond.sort_by_key(|&(a, b, _)| (a, b));
    links.extend(beyond);
    let clustering = cluster(records.height(), &links, |a, b| forbid.check(a, b))?;
    // Fates past the candidates' links are the reviewers' own pairs: nothing to mark.
    for (&i, fate) in linked.iter().zip(&clustering.fates) {
        match fate {
            LinkFate::Kept => {}
            LinkFate::CannotLink => decisions[i] = Decision::CannotLink,
            LinkFate::Split => decisions[i] = Decision::Split,
        }
    }
    Ok(clustering)
}

/// The records' own columns, without any `__` working column.
fn record_columns(records: &DataFrame) -> Vec<String> {
    records.get_column_names().iter().filter(|c| !c.starts_with("__")).map(|c| c.to_string()).collect()
}

/// Each blocking rule's census over the records the stage would compare.
pub fn census(dedup: &Dedup, mut inputs: Vec<DataFrame>) -> PolarsResult<Vec<Census>> {
    if dedup.config.reviewed.is_some() {
        inputs.pop();
    }
    let (records, _) = checked_records(&dedup.config, inputs)?;
    blocking::census(&records, &dedup.rules, dedup.config.max_block_size)
}

/// The input tables as one table of records, and the rows rejected from it.
fn checked_records(config: &DedupConfig, inputs: Vec<DataFrame>) -> PolarsResult<(DataFrame, Option<DataFrame>)> {
    let all = records(config, inputs)?;
    // Every column the config names must exist; Polars' error names the missing one.
    for column in config.referenced_columns() {
        all.column(&column)?;
    }
    split_rejects(config, all)
}

/// The records to resolve: the input, or the left and right tables stacked with a
/// `table` column naming each record's table.
fn records(config: &DedupConfig, mut inputs: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    if inputs.len() == 1 {
        return Ok(inputs.remove(0));
    }
    let names = [config.left.as_deref().unwrap_or_default(), config.right.as_deref().unwrap_or_default()];
    let tagged: Vec<LazyFrame> =
        inputs.into_iter().zip(names).map(|(df, name)| df.lazy().with_column(lit(name).alias(LINK_SOURCE))).collect();
    concat_lf_diagonal(tagged, UnionArgs { rechunk: true, ..Default::default() })?.collect()
}

/// Records without an id, or repeating a (source, id) already seen, cannot be told apart
/// in the cluster map: they go to the rejects.
fn split_rejects(config: &DedupConfig, records: DataFrame) -> PolarsResult<(DataFrame, Option<DataFrame>)> {
    let mut key = vec![col(config.id.as_str())];
    key.extend(config.source_column().map(col));
    let missing = col(config.id.as_str()).is_null();
    let repeated = as_struct(key).is_first_distinct().not();
    let columns: Vec<String> = record_columns(&records);
    let inputs = [&config.input, &config.left, &config.right].into_iter().flatten().cloned().collect::<Vec<_>>();
    let stage = format!("dedup:{}", config.output.value);
    let origin = Origin::carried(stage, records.schema(), &inputs.join("+"), "__input_row");
    let lf = records.lazy().with_row_index("__input_row", Some(1));
    let bad = lf
        .clone()
        .filter(missing.clone().or(repeated.clone()))
        .select(rejects::entry(
            &origin,
            Some(config.id.as_str()),
            col(config.id.as_str()),
            when(missing.clone()).then(lit("missing_id")).otherwise(lit("duplicate_id")),
            lit("a record needs an id unique within its source to be resolved"),
            rejects::record(columns.iter().map(|c| (c.as_str(), col(c.as_str())))),
        ))
        .collect()?;
    let kept = lf.filter(missing.or(repeated).not()).drop(cols(["__input_row"])).collect()?;
    Ok((kept, (bad.height() > 0).then_some(bad)))
}

/// The configured comparisons over the records in `order`.
fn comparisons(config: &DedupConfig, records: &DataFrame, order: &[IdxSize]) -> PolarsResult<Vec<Comparison>> {
    let order = IdxCa::from_slice("".into(), order);
    config
        .compare
        .iter()
        .map(|(name, c)| {
            let column = records.column(c.column.as_deref().unwrap_or(name))?.take(&order)?;
            let mut comparison = Comparison::new(name, &column, c.method, c.thresholds(), c.tf_adjust)?;
            comparison.contains = c.contains;
            if let Some(other) = &c.swap_with {
                let other = records.column(other)?.take(&order)?;
                comparison.swap = Some(Comparison::new(name, &other, c.method, c.thresholds(), false)?.values);
            }
            Ok(comparison)
        })
        .collect()
}

fn load_model(path: &std::path::Path, comparisons: &[Comparison], rules: &[String]) -> PolarsResult<Model> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| polars_err!(ComputeError: "cannot read model file {}: {e}", path.display()))?;
    let model: Model = serde_json::from_str(&text)
        .map_err(|e| polars_err!(ComputeError: "model file {} is not a tally model: {e}", path.display()))?;
    match model.mismatch(comparisons, rules) {
        Some(why) => polars_bail!(ComputeError: "model file {} does not fit this stage: {why}", path.display()),
        None => Ok(model),
    }
}

/// u from random pairs, then m, u and each rule's prior by EM over the candidates.
fn train(
    config: &DedupConfig,
    comparisons: &[Comparison],
    rules: &[Rule],
    records: usize,
    link_split: Option<u32>,
    (levels, pair_rules): (&[u8], &[u8]),
) -> Model {
    let t = &config.training;
    let u = model::estimate_u(comparisons, records, link_split, t.u_pairs, t.seed);
    let comparison_models: Vec<ComparisonModel> = config
        .compare
        .values()
        .zip(comparisons)
        .zip(u)
        .map(|((cc, c), u)| ComparisonModel::new(c, u, cc.weights.clone()))
        .collect();
    let patterns = model::patterns(levels, pair_rules, comparisons.len());
    let names = |keep: &dyn Fn(usize) -> bool| {
        comparisons.iter().enumerate().filter(|(k, _)| keep(*k)).map(|(_, c)| c.name.clone()).collect()
    };
    let rule_models = rules
        .iter()
        .enumerate()
        .map(|(r, rule)| {
            let blocks_on = |k: usize| rule.columns.contains(&comparisons[k].column);
            // A column the keys determine (an address's city) agrees in every pair too.
            let always_equal = |k: usize| model::always_equal(&patterns, r, k, comparisons[k].equality_level());
            let found_before = |k: usize| {
                comparisons[k].equality_level().is_some()
                    && rules[..r].iter().any(|s| s.keys.len() == 1 && s.columns == [comparisons[k].column.clone()])
            };
            RuleModel {
                rule: rule.label.clone(),
                prior: 0.1,
                left_out: names(&blocks_on),
                implied: names(&|k| !blocks_on(k) && always_equal(k)),
                unequal: names(&|k| !blocks_on(k) && !always_equal(k) && found_before(k)),
                u: comparison_models.iter().map(|c| c.u_random.clone()).collect(),
                pairs: pair_rules.iter().filter(|&&p| p as usize == r).count(),
            }
        })
        .collect();
    let random_pairs = if records >= 2 { t.u_pairs } else { 0 };
    let mut model = Model {
        comparisons: comparison_models,
        rules: rule_models,
        training: Training { random_pairs, ..Default::default() },
    };
    model::fit(&mut model, &patterns, records, t.max_iterations);
    model
}

/// Cannot-link rules and keep-apart columns, evaluated on pairs of records.
struct Forbidden<'a> {
    records: &'a DataFrame,
    predicate: Option<Expr>,
    columns: Vec<String>,
    /// Pairs of input rows a reviewer decided, smaller row first: "different" is
    /// forbidden whatever the rules say, "same" is allowed whatever they say.
    reviewed: &'a Reviewed,
}

impl<'a> Forbidden<'a> {
    fn new(
        config: &DedupConfig,
        cannot_link: &[Sql],
        records: &'a DataFrame,
        reviewed: &'a Reviewed,
    ) -> PolarsResult<Forbidden<'a>> {
        let keep_apart: Vec<String> = match &config.keep_apart {
            Some(columns) => columns.clone(),
            None => {
                records.get_column_names().iter().filter(|c| c.ends_with("_branch")).map(|c| c.to_string()).collect()
            }
        };
        let mut predicates: Vec<Expr> = keep_apart
            .iter()
            .map(|c| col(format!("{c}_l").as_str()).eq_missing(col(format!("{c}_r").as_str())).not())
            .collect();
        predicates.extend(cannot_link.iter().map(|rule| rule.expr.clone().fill_null(lit(false))));
        let mut columns: Vec<String> = predicates
            .iter()
            .flat_map(|p| p.clone().meta().root_names())
            .filter_map(|n| n.strip_suffix("_l").or_else(|| n.strip_suffix("_r")).map(String::from))
            .collect();
        columns.sort();
        columns.dedup();
        Ok(Forbidden { records, predicate: predicates.into_iter().reduce(Expr::or), columns, reviewed })
    }

    fn check(&self, left: &[u32], right: &[u32]) -> PolarsResult<Vec<bool>> {
        let by_rules = self.check_rules(left, right)?;
        Ok(by_rules
            .into_iter()
            .zip(left.iter().zip(right))
            .map(|(bad, (&a, &b))| match self.reviewed.get(a, b) {
                Some(Verdict::Same) => false,
                Some(Verdict::Different) => true,
                None => bad,
            })
            .collect())
    }

    fn check_rules(&self, left: &[u32], right: &[u32]) -> PolarsResult<Vec<bool>> {
        let Some(predicate) = &self.predicate else { return Ok(vec![false; left.len()]) };
        let idx = |side: &[u32]| IdxCa::from_vec("".into(), side.iter().map(|&r| r as IdxSize).collect());
        let (l, r) = (idx(left), idx(right));
        let mut columns = Vec::new();
        for c in &self.columns {
            let values = self.records.column(c)?;
            columns.push(values.take(&l)?.with_name(format!("{c}_l").into()));
            columns.push(values.take(&r)?.with_name(format!("{c}_r").into()));
        }
        let frame = DataFrame::new(left.len(), columns)?;
        let out = frame.lazy().select([predicate.clone().fill_null(lit(false)).alias("forbidden")]).collect()?;
        Ok(out.column("forbidden")?.bool()?.iter().map(|v| v.unwrap_or(false)).collect())
    }
}

/// The records with `__row`, `__key`, `master_id` and `cluster_size`. A master id is a
/// hash of the smallest (source, id) in the cluster, so it stays the same when records
/// are added to other clusters, and on every platform.
fn with_master_ids(records: &DataFrame, labels: &[u32], id: &str, source: Option<&str>) -> PolarsResult<DataFrame> {
    let id_text = col(id).cast(DataType::String);
    let key = match source {
        Some(s) => concat_str([col(s).cast(DataType::String).fill_null(lit("")), id_text], "\u{1f}", false),
        None => id_text,
    };
    let labelled = records
        .clone()
        .lazy()
        .with_row_index(ROW, None)
        .with_columns([key.alias(KEY), Series::new("__label".into(), labels).lit()])
        .with_columns([
            col(KEY).min().over([col("__label")])?.alias("__anchor"),
            len().over([col("__label")])?.cast(DataType::UInt32).alias(SIZE),
        ])
        .collect()?;
    let anchors: Vec<Option<&str>> = labelled.column("__anchor")?.str()?.iter().collect();
    let master: Vec<String> = anchors.par_iter().map(|a| master_id(a.unwrap_or_default())).collect();
    let mut out = labelled.drop_many(["__label", "__anchor"]);
    out.with_column(Column::new(MASTER.into(), master))?;
    Ok(out)
}

/// `M` and the first 16 hex digits of the SHA-256 of the anchor's (source, id).
fn master_id(anchor: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(anchor.as_bytes());
    let mut id = String::with_capacity(17);
    id.push('M');
    for b in &digest[..8] {
        id.push(HEX[usize::from(b >> 4)] as char);
        id.push(HEX[usize::from(b & 15)] as char);
    }
    id
}

/// How many clusters have each size.
fn histogram(golden: &DataFrame) -> PolarsResult<serde_json::Value> {
    let counts = golden
        .clone()
        .lazy()
        .group_by([col(SIZE)])
        .agg([len().alias("clusters")])
        .sort([SIZE], Default::default())
        .collect()?;
    let sizes = counts.column(SIZE)?.u32()?.clone();
    let clusters = counts.column("clusters")?.idx()?.clone();
    Ok(sizes
        .iter()
        .zip(clusters.iter())
        .map(|(s, n)| (s.unwrap_or(0).to_string(), json!(n.unwrap_or(0))))
        .collect::<serde_json::Map<_, _>>()
        .into())
}

/// The blocking rules as a sheet: pairs each found first, their prior, which
/// comparisons they leave out or imply, and which cannot be equal in their pairs.
fn rules_table(model: &Model) -> PolarsResult<DataFrame> {
    let rules = &model.rules;
    df! {
        "rule" => rules.iter().map(|r| r.rule.as_str()).collect::<Vec<_>>(),
        "pairs" => rules.iter().map(|r| r.pairs as u64).collect::<Vec<_>>(),
        "prior" => rules.iter().map(|r| r.prior).collect::<Vec<_>>(),
        "prior_weight" => rules.iter().map(RuleModel::prior_weight).collect::<Vec<_>>(),
        "left_out" => rules.iter().map(|r| r.left_out.join(", ")).collect::<Vec<_>>(),
        "implied" => rules.iter().map(|r| r.implied.join(", ")).collect::<Vec<_>>(),
        "unequal" => rules.iter().map(|r| r.unequal.join(", ")).collect::<Vec<_>>(),
    }
}

/// The model as a sheet: per rule, every comparison level's m, u and weight.
fn model_table(model: &Model) -> PolarsResult<DataFrame> {
    type Row<'a> = (&'a str, &'a str, &'a str, Option<f64>, Option<f64>, Option<f64>, f64);
    let mut rows: Vec<Row> = Vec::new();
    for (r, rule) in model.rules.iter().enumerate() {
        let shown = |c: &&ComparisonModel| !rule.leaves_out(&c.name) && !rule.implies(&c.name);
        for (k, c) in model.comparisons.iter().enumerate().filter(|(_, c)| shown(c)) {
            let trained = c.fixed_weights.is_none();
            for (l, label) in c.levels.iter().enumerate() {
                let (m, u, u_random) = (c.m[l], rule.u[k][l], c.u_random[l]);
                let [m, u, u_random] = [m, u, u_random].map(|p| Some(p).filter(|_| trained));
                rows.push((&rule.rule, &c.name, label, m, u, u_random, model.weight(r, k, l as u8 + 1)));
            }
        }
    }
    df! {
        "rule" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "comparison" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "level" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "m" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        "u" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        "u_random" => rows.iter().map(|r| r.5).collect::<Vec<_>>(),
        "match_weight" => rows.iter().map(|r| r.6).collect::<Vec<_>>(),
    }
}
