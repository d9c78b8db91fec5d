//! What credit notes and receipts applied to each invoice, for the stages that read the
//! ledger. The ledger has linked each to its invoice's entry, so the sums are an array
//! indexed by entry (a bincount): grouping 13M documents by entry and joining the sums
//! back to the invoices took 4.5 s at 20M invoices.

use std::sync::Arc;

use polars::prelude::*;

use super::{APPLIES_TO_ENTRY, BASE_AMOUNT, KIND};
use crate::values::cents;

/// Per invoice entry, the whole cents of the `documents` of `kind` that apply to it.
pub fn applied_cents(documents: LazyFrame, kind: &str) -> PolarsResult<Arc<Vec<i64>>> {
    let applying = col(KIND).eq(lit(kind)).and(col(APPLIES_TO_ENTRY).is_not_null());
    let applied = documents.filter(applying).select([col(APPLIES_TO_ENTRY), cents(col(BASE_AMOUNT))]).collect()?;
    let entries = applied.column(APPLIES_TO_ENTRY)?.idx()?;
    let mut sums = vec![0i64; entries.max().map_or(0, |e| e as usize + 1)];
    for (entry, cents) in entries.into_no_null_iter().zip(applied.column(BASE_AMOUNT)?.i64()?.iter()) {
        sums[entry as usize] += cents.unwrap_or(0);
    }
    Ok(Arc::new(sums))
}

/// Expression: each invoice's sum in `sums`, by its entry in column `entry`; 0 for none.
pub fn by_entry(sums: Arc<Vec<i64>>, entry: &str) -> Expr {
    col(entry).map(
        move |c| {
            let sum = |e: IdxSize| sums.get(e as usize).copied().unwrap_or(0);
            let out: Int64Chunked = c.idx()?.apply_nonnull_values_generic(DataType::Int64, sum);
            Ok(out.into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Int64)),
    )
}
