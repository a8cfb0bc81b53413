import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.debezium.connector.oracle.OracleConnectorConfig;
import io.debezium.connector.oracle.logminer.parser.LogMinerDmlEntry;
import io.debezium.connector.oracle.logminer.parser.LogMinerDmlParser;
import io.debezium.relational.Column;
import io.debezium.relational.Table;
import io.debezium.relational.TableEditor;
import io.debezium.relational.TableId;

/**
 * Runs Debezium's LogMiner DML parser over a file of SQL_REDO statements, for
 * zero-etl's differential test and bench (test-support/oracle-debezium).
 *
 * Input: blocks of
 *   TABLE <owner>\t<table>\t<column count>\n  then one line per column: <name>\t<DATA_TYPE>\n
 *   SQL <UTF-16 length>\n<statement>\n          (parsed against the last TABLE)
 *
 *   parse <input> <output>   one JSON line per statement: {"op":"i|u|d","old":[…],"new":[…]} or {"error":"…"};
 *                            values are strings, null, or {"unavailable":true} for Debezium's placeholder of a LOB not in the redo
 *   bench <input> <rounds>   parses every statement `rounds` times after as many warm-up rounds,
 *                            prints "DEBEZIUM_FAILED <i,j,…>" (statements it throws on,
 *                            left out) and "DEBEZIUM_NS_PER_STATEMENT <n>"
 */
public final class OracleDmlHarness {
    private OracleDmlHarness() {
    }

    private static final class Input {
        final List<Table> tables = new ArrayList<>();
        final List<String> sql = new ArrayList<>();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: OracleDmlHarness parse <input> <output> | bench <input> <rounds>");
            System.exit(2);
        }
        Input input = read(args[1]);
        LogMinerDmlParser parser = new LogMinerDmlParser(createConfig());
        if (args[0].equals("parse")) {
            try (BufferedWriter out = new BufferedWriter(new OutputStreamWriter(new FileOutputStream(args[2]), StandardCharsets.UTF_8), 1 << 16)) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < input.sql.size(); i++) {
                    line.setLength(0);
                    try {
                        LogMinerDmlEntry entry = parser.parse(input.sql.get(i), input.tables.get(i));
                        line.append("{\"op\":\"").append(op(entry)).append("\",\"old\":");
                        appendValues(line, entry.getOldValues());
                        line.append(",\"new\":");
                        appendValues(line, entry.getNewValues());
                        line.append('}');
                    }
                    catch (RuntimeException e) {
                        line.append("{\"error\":");
                        appendString(line, String.valueOf(e.getMessage()));
                        line.append('}');
                    }
                    out.append(line).append('\n');
                }
            }
        }
        else if (args[0].equals("bench")) {
            int rounds = Integer.parseInt(args[2]);
            // statements Debezium's parser throws on are left out of the timed rounds (and reported, so the
            // other side leaves them out too)
            List<String> sql = new ArrayList<>();
            List<Table> tables = new ArrayList<>();
            StringBuilder failed = new StringBuilder();
            for (int i = 0; i < input.sql.size(); i++) {
                try {
                    parser.parse(input.sql.get(i), input.tables.get(i));
                    sql.add(input.sql.get(i));
                    tables.add(input.tables.get(i));
                }
                catch (RuntimeException e) {
                    failed.append(failed.length() == 0 ? "" : ",").append(i);
                }
            }
            int n = sql.size();
            long sink = 0;
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < n; i++) {
                    sink += parser.parse(sql.get(i), tables.get(i)).getNewValues().length;
                }
            }
            long start = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < n; i++) {
                    sink += parser.parse(sql.get(i), tables.get(i)).getNewValues().length;
                }
            }
            long elapsed = System.nanoTime() - start;
            System.out.println("DEBEZIUM_FAILED " + failed);
            System.out.println("DEBEZIUM_NS_PER_STATEMENT " + (elapsed / ((double) n * rounds)) + " " + (sink == 42 ? "" : ""));
        }
        else {
            System.err.println("unknown mode " + args[0]);
            System.exit(2);
        }
    }

    /**
     * The parser reads one flag from the connector config (relaxed quote
     * detection, default off). Building a full config needs a database
     * connection's worth of settings, so the instance is allocated without a
     * constructor and keeps that flag's default.
     */
    private static OracleConnectorConfig createConfig() throws Exception {
        Field unsafeField = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
        unsafeField.setAccessible(true);
        sun.misc.Unsafe unsafe = (sun.misc.Unsafe) unsafeField.get(null);
        return (OracleConnectorConfig) unsafe.allocateInstance(OracleConnectorConfig.class);
    }

    private static String op(LogMinerDmlEntry entry) {
        switch (entry.getEventType().name()) {
            case "INSERT":
                return "i";
            case "UPDATE":
                return "u";
            case "DELETE":
                return "d";
            default:
                return entry.getEventType().name();
        }
    }

    private static void appendValues(StringBuilder line, Object[] values) {
        line.append('[');
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                line.append(',');
            }
            Object v = values[i];
            if (v == null) {
                line.append("null");
            }
            else if (v instanceof String) {
                appendString(line, (String) v);
            }
            else {
                // the only non-string the parser hands out: OracleValueConverters.UNAVAILABLE_VALUE
                line.append("{\"unavailable\":true}");
            }
        }
        line.append(']');
    }

    private static void appendString(StringBuilder line, String s) {
        line.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                line.append('\\').append(c);
            }
            else if (c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) {
                // lone surrogates stay exact as \\u escapes; JSON.parse rebuilds the same UTF-16 string
                line.append(String.format("\\u%04x", (int) c));
            }
            else {
                line.append(c);
            }
        }
        line.append('"');
    }

    private static int jdbcType(String dataType) {
        switch (dataType) {
            case "CLOB":
                return Types.CLOB;
            case "NCLOB":
                return Types.NCLOB;
            case "BLOB":
                return Types.BLOB;
            default:
                return Types.VARCHAR;
        }
    }

    private static Input read(String path) throws IOException {
        Input input = new Input();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(new FileInputStream(path), StandardCharsets.UTF_8), 1 << 16)) {
            Table table = null;
            Map<String, Table> known = new HashMap<>();
            String header;
            while ((header = in.readLine()) != null) {
                if (header.startsWith("TABLE ")) {
                    String[] parts = header.substring(6).split("\t", -1);
                    int count = Integer.parseInt(parts[2]);
                    StringBuilder key = new StringBuilder(header);
                    String[][] columns = new String[count][];
                    for (int c = 0; c < count; c++) {
                        String line = in.readLine();
                        key.append('\n').append(line);
                        columns[c] = line.split("\t", -1);
                    }
                    // the same table comes back often: one relational model per distinct definition
                    table = known.get(key.toString());
                    if (table == null) {
                        TableEditor editor = Table.editor().tableId(new TableId(null, parts[0], parts[1]));
                        for (int c = 0; c < count; c++) {
                            editor.addColumn(Column.editor().name(columns[c][0]).type(columns[c][1]).jdbcType(jdbcType(columns[c][1])).position(c + 1).optional(true).create());
                        }
                        table = editor.create();
                        known.put(key.toString(), table);
                    }
                }
                else if (header.startsWith("SQL ")) {
                    int length = Integer.parseInt(header.substring(4));
                    char[] chars = new char[length];
                    int read = 0;
                    while (read < length) {
                        int n = in.read(chars, read, length - read);
                        if (n < 0) {
                            throw new IOException("truncated statement in " + path);
                        }
                        read += n;
                    }
                    in.read();
                    input.sql.add(new String(chars));
                    input.tables.add(table);
                }
                else if (!header.isEmpty()) {
                    throw new IOException("unexpected line in " + path + ": " + header);
                }
            }
        }
        return input;
    }
}
