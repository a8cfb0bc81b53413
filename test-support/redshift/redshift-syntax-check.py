"""Parses SQL statements with sqlglot's redshift dialect, an independent Redshift grammar.

Reads a JSON array of statements on stdin and prints a JSON array with, per
statement, null when it passes or the reason it does not. sqlglot is lenient
(it parses PostgreSQL's ON CONFLICT, RETURNING and types such as jsonb under
the redshift dialect), so constructs Redshift rejects that sqlglot accepts are
denied here by walking the parsed tree.
"""
import json
import sys

import sqlglot
from sqlglot import exp

# Types PostgreSQL has and Redshift does not (Redshift: SUPER, VARBYTE, no arrays).
DENIED_TYPES = {
    exp.DataType.Type.JSON: "JSON type (Redshift has SUPER)",
    exp.DataType.Type.JSONB: "JSONB type (Redshift has SUPER)",
    exp.DataType.Type.UUID: "UUID type",
    exp.DataType.Type.ARRAY: "ARRAY type",
    exp.DataType.Type.SERIAL: "SERIAL type",
    exp.DataType.Type.BIGSERIAL: "BIGSERIAL type",
    exp.DataType.Type.INET: "INET type",
}
VARCHAR_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.NVARCHAR}


def check(sql):
    try:
        trees = sqlglot.parse(sql, read="redshift")
    except sqlglot.errors.SqlglotError as error:
        return "sqlglot: " + str(error).splitlines()[0]
    for tree in trees:
        if tree is None:
            continue
        if tree.find(exp.OnConflict) is not None:
            return "denied: ON CONFLICT (Redshift has no upsert clause; use MERGE or DELETE USING + INSERT)"
        if tree.find(exp.Returning) is not None:
            return "denied: RETURNING"
        for dtype in tree.find_all(exp.DataType):
            reason = DENIED_TYPES.get(dtype.this)
            if reason is not None:
                return "denied: " + reason
        for alter in tree.find_all(exp.AlterColumn):
            dtype = alter.args.get("dtype")
            if dtype is not None and dtype.this not in VARCHAR_TYPES:
                return "denied: ALTER COLUMN ... TYPE other than VARCHAR (Redshift only grows a VARCHAR in place)"
        if isinstance(tree, exp.Copy) and "STDIN" in sql.upper():
            return "denied: COPY FROM STDIN"
        if isinstance(tree, exp.TruncateTable):
            return "denied: TRUNCATE commits the open transaction in Redshift"
    return None


def main():
    statements = json.load(sys.stdin)
    json.dump([check(s) for s in statements], sys.stdout)


if __name__ == "__main__":
    main()
