"""The dedup benchmark's input resolved by Splink, the open tool the dedup stage is
measured against: same cleaned records, same blocking rules, the nearest Splink
comparisons, Splink's recommended training, clusters at the same 0.95 threshold.

Not part of the test suite (Splink is a Python package, not a dependency of tally):

    python3 -m venv /tmp/splink && /tmp/splink/bin/pip install splink
    cargo bench --bench dedup              # writes the cached inputs
    /tmp/splink/bin/python benches/splink_baseline.py \
        $CARGO_TARGET_DIR/bench-data/dedup_input_100000.parquet

Prints seconds per phase, peak memory of the process, and pairwise precision and
recall against the generator's truth, computed as `tally eval` computes them.
"""

import resource
import sys
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

THRESHOLD = 0.95


def main(path: str) -> None:
    con = duckdb.connect()
    con.sql(
        f"""create table records as
        select source_system || ':' || customer_id as uid, * exclude (entity_id), entity_id
        from read_parquet('{path}')"""
    )
    rows = con.sql("select count(*) from records").fetchall()[0][0]
    db_api = DuckDBAPI(con)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="uid",
        blocking_rules_to_generate_predictions=[
            block_on("tax_id"),
            block_on("phone"),
            block_on("name_key"),
            block_on("substr(name_key, 1, 2)", "address_city"),
            block_on("address"),
        ],
        comparisons=[
            cl.LevenshteinAtThresholds("name_key", [1, 2]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("tax_id"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.ExactMatch("email"),
            cl.ExactMatch("contact"),
            cl.JaccardAtThresholds("address", [0.8, 0.6]),
            cl.ExactMatch("address_city"),
            cl.ExactMatch("name_place"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    phases = []
    started = time.perf_counter()

    def done(phase: str, since: list[float] = [started]) -> None:
        now = time.perf_counter()
        phases.append(f"{phase} {now - since[0]:.1f}")
        since[0] = now

    linker = Linker(db_api.register(con.table("records")), settings, log_level=30)
    linker.training.estimate_probability_two_random_records_match([block_on("tax_id")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
    done("u")
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_key"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    done("em")
    predictions = linker.inference.predict(threshold_match_probability=0.8)
    done("predict")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD)
    done("cluster")
    seconds = time.perf_counter() - started
    clusters = con.sql(f"select * from {clusters.physical_name}")
    precision, recall = evaluate(con, clusters)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows:>9} {seconds:>8.1f} s  peak {peak:.0f} MiB  precision {precision:.4f}  recall {recall:.4f}")
    print("  phases (s): " + ", ".join(phases))


def evaluate(con: duckdb.DuckDBPyConnection, clusters: duckdb.DuckDBPyRelation) -> tuple[float, float]:
    """Pairwise precision and recall: pairs of records put in one cluster, against
    pairs of records of one true entity."""
    con.register("clusters", clusters)
    [(predicted, true, correct)] = con.sql(
        """with c as (select r.uid, c.cluster_id, r.entity_id from records r join clusters c using (uid))
        select
          (select sum(n * (n - 1) / 2) from (select count(*) n from c group by cluster_id)),
          (select sum(n * (n - 1) / 2) from (select count(*) n from c group by entity_id)),
          (select sum(n * (n - 1) / 2) from (select count(*) n from c group by cluster_id, entity_id))"""
    ).fetchall()
    return correct / predicted, correct / true


if __name__ == "__main__":
    main(sys.argv[1])
