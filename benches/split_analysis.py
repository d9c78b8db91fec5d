"""How splitting the example's name rules changes their candidate pairs, against the truth.

Reads cleaned dedup records with their true entity: the dedup bench's cached input
(`<target>/bench-data/dedup_input_N.parquet`, which has `entity_id`), or a run's
`customers_flagged.parquet` with the sample's `truth.csv`. For the two name rules
(`[name_key]`, `[name_roman]`) it prints their pairs and how many true pairs no rule of
the example finds any more, when blocks of more than OVER records are

- left whole (the rules before the split),
- split by city, `COALESCE(address_city, name_place)`, each record without one paired
  with its whole block (what `split_by` does), and
- cut to a sorted neighbourhood of WINDOW records, sorted by city.

With `--address` it does the same for the `[address]` rule split by the first letter
of `name_roman`. Run by hand in a throwaway venv with polars (not in CI):

    python benches/split_analysis.py RECORDS.parquet [TRUTH.csv] [--over 4] [--window 8] [--address]
"""

import argparse

import polars as pl

p = argparse.ArgumentParser()
p.add_argument("records")
p.add_argument("truth", nargs="?")
p.add_argument("--over", type=int, default=4)
p.add_argument("--window", type=int, default=8)
p.add_argument("--address", action="store_true")
args = p.parse_args()

d = pl.read_parquet(args.records)
if args.truth:
    d = d.join(pl.read_csv(args.truth), on=["source_system", "customer_id"])
d = d.with_row_index("rid").with_columns(city=pl.coalesce("address_city", "name_place"))


def present(c):
    return pl.col(c).is_not_null() & (pl.col(c).cast(pl.String).str.len_bytes() > 0)


def all_pairs(groups):
    p = groups.select(a=pl.col("rid"), b=pl.col("rid")).explode("a").explode("b")
    return p.filter(pl.col("a") < pl.col("b"))


def pairs_of(df, keys, split=None, mode="whole"):
    """Pairs of records sharing `keys`; blocks over --over records treated by `mode`."""
    g = df.group_by(keys).agg(pl.col("rid"), *([pl.col(split)] if split else []))
    g = g.filter(pl.col("rid").list.len() > 1)
    if mode == "whole":
        return all_pairs(g)
    small, large = g.filter(pl.col("rid").list.len() <= args.over), g.filter(pl.col("rid").list.len() > args.over)
    rows = large.with_row_index("blk").select("blk", "rid", split).explode("rid", split)
    if mode == "split":
        valued = rows.filter(pl.col(split).is_not_null())
        same = valued.join(valued, on=["blk", split]).filter(pl.col("rid") < pl.col("rid_right"))
        wild = rows.filter(pl.col(split).is_null()).join(rows, on="blk").filter(pl.col("rid") != pl.col("rid_right"))
        cut = pl.concat([same.select("rid", "rid_right"), wild.select("rid", "rid_right")])
    else:
        rows = rows.sort("blk", split, "rid", nulls_last=True).with_columns(pos=pl.int_range(pl.len()).over("blk"))
        cut = pl.concat(
            [rows.join(rows.with_columns(pos=pl.col("pos") - k), on=["blk", "pos"]) for k in range(1, args.window)]
        ).select("rid", "rid_right")
    cut = cut.select(a=pl.min_horizontal("rid", "rid_right"), b=pl.max_horizontal("rid", "rid_right"))
    return pl.concat([all_pairs(small), cut]).unique()


entity = d.select("rid", "entity_id")


def true_of(p):
    p = p.join(entity.rename({"rid": "a", "entity_id": "ea"}), on="a")
    p = p.join(entity.rename({"rid": "b", "entity_id": "eb"}), on="b")
    return p.filter(pl.col("ea") == pl.col("eb")).select("a", "b").unique()


def deletions(s):
    c = list(s)
    return list({s} | ({"".join(c[:i] + c[i + 1 :]) for i in range(len(c))} if len(c) >= 4 else set()))


others = {
    "tax": pairs_of(d.filter(present("tax_id_key")).select("rid", "tax_id_key"), ["tax_id_key"]),
    "phone": pairs_of(d.select("rid", "phone_all").explode("phone_all").filter(present("phone_all")), ["phone_all"]),
    "address": pairs_of(d.filter(present("address")).select("rid", "address"), ["address"]),
    "contact": pairs_of(
        d.filter(present("contact") & present("name_key"))
        .select("rid", "contact", nk=pl.col("name_key").map_elements(deletions, return_dtype=pl.List(pl.String)))
        .explode("nk"),
        ["contact", "nk"],
    ),
}
names = {k: d.filter(present(k)).select("rid", k, "city") for k in ["name_key", "name_roman"]}
total = d.group_by("entity_id").len().select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item()

if args.address:
    src = d.filter(present("address")).select("rid", "address", first=pl.col("name_roman").str.slice(0, 1))
    for mode in ["whole", "split"]:
        p = pairs_of(src, ["address"], "first", mode)
        print(f"address {mode:6} pairs {p.height:>10}  true {true_of(p).height}")
else:
    found_elsewhere = true_of(pl.concat(others.values()).unique())
    print(f"records {d.height}, true pairs {total}, found by the other rules {found_elsewhere.height}")
    base = None
    for mode in ["whole", "split", "window"]:
        p = pl.concat([pairs_of(src, [k], "city", mode) for k, src in names.items()]).unique()
        found = pl.concat([true_of(p), found_elsewhere]).unique().height
        base = found if base is None else base
        print(f"{mode:6} over {args.over}: name pairs {p.height:>10}  true found {found}  lost {base - found}")
