package io.sdj.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Writes one partition's PNGs into a directory ({@link SparkImageGeneration#writePngs}); yields the count. */
final class WritePngPartition implements MapPartitionsFunction<Row, Long> {
    private static final long serialVersionUID = 1L;
    private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,199}");

    private final String directory;
    private final int png, seed, id;
    private final Map<String, String> hadoop;

    WritePngPartition(String directory, StructType schema, Map<String, String> hadoop) {
        this.directory = directory;
        this.png = schema.fieldIndex(RequestColumns.PNG);
        this.seed = schema.fieldIndex(RequestColumns.SEED);
        this.id = List.of(schema.fieldNames()).contains(RequestColumns.ID) ? schema.fieldIndex(RequestColumns.ID) : -1;
        this.hadoop = Map.copyOf(hadoop);
    }

    @Override
    public Iterator<Long> call(Iterator<Row> rows) throws IOException {
        Configuration conf = new Configuration(false);
        hadoop.forEach(conf::set);
        Path dir = new Path(directory);
        FileSystem fs = dir.getFileSystem(conf);
        fs.setWriteChecksum(false);   // no .crc file beside each PNG on the local file system
        fs.mkdirs(dir);
        TaskContext task = TaskContext.get();
        String attempt = task == null ? "0" : task.stageId() + "-" + task.partitionId() + "-" + task.taskAttemptId();
        long n = 0;
        while (rows.hasNext()) {
            Row row = rows.next();
            byte[] bytes = (byte[]) row.get(png);
            write(fs, new Path(dir, name(row, bytes)), bytes, attempt);
            n++;
        }
        return List.of(n).iterator();
    }

    private String name(Row row, byte[] bytes) {
        if (id >= 0 && !row.isNullAt(id)) {
            String v = row.getString(id);
            if (!SAFE_ID.matcher(v).matches()) {
                throw new IllegalArgumentException("sdj: id '" + v + "' cannot be a file name (letters, digits, '.', '_', '-'; "
                        + "not starting with '.' or '-'; at most 200 characters)");
            }
            return v + ".png";
        }
        return "seed-" + Long.toUnsignedString(row.getLong(seed)) + "-" + HexFormat.of().formatHex(sha256(bytes), 0, 6) + ".png";
    }

    /** Temporary file beside the target, then a rename; an existing target must hold the same bytes. */
    private static void write(FileSystem fs, Path target, byte[] bytes, String attempt) throws IOException {
        if (sameFile(fs, target, bytes)) return;
        Path tmp = new Path(target.getParent(), "." + target.getName() + "." + attempt + ".tmp");
        try (FSDataOutputStream out = fs.create(tmp, true)) {
            out.write(bytes);
        }
        boolean renamed;
        try {
            renamed = fs.rename(tmp, target);
        } catch (IOException e) {
            renamed = false;
        }
        if (!renamed) {
            fs.delete(tmp, false);
            if (!sameFile(fs, target, bytes)) throw new IOException("sdj: could not rename " + tmp + " to " + target);
        }
    }

    /** True when {@code target} exists with exactly {@code bytes}; throws when it exists with other content. */
    private static boolean sameFile(FileSystem fs, Path target, byte[] bytes) throws IOException {
        if (!fs.exists(target)) return false;
        if (fs.getFileStatus(target).getLen() == bytes.length) {
            byte[] old = new byte[bytes.length];
            try (FSDataInputStream in = fs.open(target)) {
                in.readFully(old);
            }
            if (Arrays.equals(old, bytes)) return true;
        }
        throw new IllegalStateException("sdj: " + target + " already exists with other content; not overwritten "
                + "(remove it, or write to another directory)");
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
