package io.sdj.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

import java.util.Locale;

/**
 * A ready-to-submit job: {@code GenerateImages <model> <requests> <output directory>}. The requests are a JSON-lines
 * file ({@code .json}/{@code .jsonl}, one object per line), a CSV file with a header ({@code .csv}) or Parquet
 * ({@code .parquet}), with the columns of {@link RequestColumns}; each row becomes one PNG in the output directory
 * ({@link SparkImageGeneration#writePngs}). Prints one line per image (id or seed, size, seconds) and a total.
 */
public final class GenerateImages {
    private GenerateImages() {}

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: GenerateImages <model> <requests.jsonl|.csv|.parquet> <output directory>");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().appName("sdj GenerateImages").getOrCreate();
        try {
            run(spark, args[0], args[1], args[2]);
        } finally {
            spark.stop();
        }
    }

    /** The job on an existing session; returns the number of PNG files written. */
    public static long run(SparkSession spark, String model, String requests, String output) {
        String lower = requests.toLowerCase(Locale.ROOT);
        Dataset<Row> in;
        if (lower.endsWith(".csv")) in = spark.read().option("header", "true").option("inferSchema", "true").csv(requests);
        else if (lower.endsWith(".parquet")) in = spark.read().parquet(requests);
        else if (lower.endsWith(".json") || lower.endsWith(".jsonl")) in = spark.read().json(requests);
        else throw new IllegalArgumentException("requests must be a .jsonl/.json, .csv or .parquet file, got " + requests);

        // generated once, read by both actions below
        Dataset<Row> images = SparkImageGeneration.generate(in, model).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long written = SparkImageGeneration.writePngs(images, output);
            double seconds = 0;
            for (Row r : images.drop(RequestColumns.PNG).collectAsList()) {
                String name = r.isNullAt(r.fieldIndex(RequestColumns.ID)) ? "seed " + Long.toUnsignedString(r.getLong(r.fieldIndex(RequestColumns.SEED)))
                        : r.getString(r.fieldIndex(RequestColumns.ID));
                double s = r.getDouble(r.fieldIndex(RequestColumns.SECONDS));
                seconds += s;
                System.out.printf(Locale.ROOT, "%s: %.2f s (text encoder %.2f, denoising %.2f, decoder %.2f)%n", name, s,
                        r.getDouble(r.fieldIndex(RequestColumns.TEXT_ENCODER_SECONDS)), r.getDouble(r.fieldIndex(RequestColumns.DENOISING_SECONDS)),
                        r.getDouble(r.fieldIndex(RequestColumns.DECODER_SECONDS)));
            }
            System.out.printf(Locale.ROOT, "wrote %d PNG files to %s (%.1f s of generation in all tasks)%n", written, output, seconds);
            return written;
        } finally {
            images.unpersist();
        }
    }
}
