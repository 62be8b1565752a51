package io.sdj.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

import java.util.HashMap;
import java.util.Map;

/**
 * Batch text-to-image on Spark. {@link #generate} turns a Dataset of requests (columns: {@link RequestColumns}) into
 * the same rows plus {@code png} (the image file's bytes, with the A1111 {@code parameters} text chunk),
 * {@code parameters} (that text) and timings in seconds ({@code text_encoder_seconds}, {@code denoising_seconds},
 * {@code decoder_seconds}, and {@code seconds}: the row's whole generation and PNG encoding on the executor, without
 * the model load). One row is one image; rows run in parallel, as many per executor as it has task slots.
 * <p>The model is loaded once per executor JVM ({@link ExecutorModels}) from {@code model}: a path that every executor
 * can read on its local file system (a shared mount, or the same file copied to every node; the weights are
 * memory-mapped, so HDFS/S3 URLs do not work), or a Hugging Face hub id that each executor pulls into its own cache.
 * <p>The result is lazy and deterministic: each action recomputes it, with the same bytes. Persist it (or write it
 * out once) when more than one action reads it.
 */
public final class SparkImageGeneration {
    private SparkImageGeneration() {}

    /**
     * The generated images of {@code requests}, one output row per input row, in the same partitions.
     * @throws IllegalArgumentException when a required column is missing (bad values fail the job with a message
     *         naming the row)
     */
    public static Dataset<Row> generate(Dataset<Row> requests, String model) {
        if (model == null || model.isBlank()) throw new IllegalArgumentException("no model given");
        Dataset<Row> normalized = RequestColumns.normalize(requests);
        StructType in = normalized.schema();
        return normalized.mapPartitions(new GeneratePartition(model, in), Encoders.row(RequestColumns.output(in)));
    }

    /**
     * Writes the {@code png} column of {@code images} (the output of {@link #generate}) as one file per row under
     * {@code directory} (any Hadoop file system URL: a local path, {@code hdfs://}, {@code s3a://} with its connector),
     * named {@code <id>.png} when the row has an {@code id}, else {@code seed-<seed>-<first 12 hex digits of the
     * PNG's SHA-256>.png}. Each file is written beside its target and renamed into place. A file that already exists
     * is left alone when it holds the same bytes (a retried or speculative task, a rerun of the same job) and fails
     * the job when it differs: nothing is overwritten.
     * @return the number of rows (files) written or found identical
     */
    public static long writePngs(Dataset<Row> images, String directory) {
        StructType schema = images.schema();
        for (String c : new String[] {RequestColumns.PNG, RequestColumns.SEED}) {
            if (!java.util.Arrays.asList(schema.fieldNames()).contains(c)) {
                throw new IllegalArgumentException("writePngs needs the column '" + c + "' (the output of generate)");
            }
        }
        Map<String, String> hadoop = new HashMap<>();
        for (Map.Entry<String, String> e : images.sparkSession().sparkContext().hadoopConfiguration()) hadoop.put(e.getKey(), e.getValue());
        Dataset<Long> counts = images.mapPartitions(new WritePngPartition(directory, schema, hadoop), Encoders.LONG());
        return counts.collectAsList().stream().mapToLong(Long::longValue).sum();
    }
}
