package io.sdj.spark;

import io.sdj.models.pipeline.Cancellation;
import io.sdj.models.pipeline.DecoderKind;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.Timings;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.SamplerKind;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.Iterator;

/**
 * The work of one partition: each input row becomes one generated image, one row at a time as Spark pulls them (only
 * one image's PNG is held by this function at a time). The pipeline comes from {@link ExecutorModels}, so every task
 * of an executor shares one loaded model. A killed task (job cancelled, speculative copy no longer needed) stops at
 * the next denoising step.
 */
final class GeneratePartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final String model;
    private final int prompt, seed, negative, width, height, steps, sampler, guidance, decoder;

    GeneratePartition(String model, StructType normalized) {
        this.model = model;
        this.prompt = normalized.fieldIndex(RequestColumns.PROMPT);
        this.seed = normalized.fieldIndex(RequestColumns.SEED);
        this.negative = normalized.fieldIndex(RequestColumns.NEGATIVE_PROMPT);
        this.width = normalized.fieldIndex(RequestColumns.WIDTH);
        this.height = normalized.fieldIndex(RequestColumns.HEIGHT);
        this.steps = normalized.fieldIndex(RequestColumns.STEPS);
        this.sampler = normalized.fieldIndex(RequestColumns.SAMPLER);
        this.guidance = normalized.fieldIndex(RequestColumns.GUIDANCE);
        this.decoder = normalized.fieldIndex(RequestColumns.DECODER);
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        return new Iterator<>() {
            @Override
            public boolean hasNext() { return rows.hasNext(); }

            @Override
            public Row next() { return generate(rows.next(), task); }
        };
    }

    private Row generate(Row row, TaskContext task) {
        Txt2Img sd = ExecutorModels.get(model);
        long t0 = System.nanoTime();
        Cancellation cancel = new Cancellation();
        GenerationResult result;
        try {
            Txt2Img.Request r = sd.request()
                    .prompt(required(row, prompt, RequestColumns.PROMPT).toString())
                    .seed((Long) required(row, seed, RequestColumns.SEED))
                    .negativePrompt(row.isNullAt(negative) ? "" : row.getString(negative))
                    .size(row.isNullAt(width) ? 512 : row.getInt(width), row.isNullAt(height) ? 512 : row.getInt(height))
                    .steps(row.isNullAt(steps) ? null : row.getInt(steps))
                    .guidance(row.isNullAt(guidance) ? 7.5f : row.getFloat(guidance))
                    .cancellation(cancel)
                    .listener((step, total, elapsed, secPerStep) -> {
                        if (task != null && task.isInterrupted()) cancel.cancel();
                    })
                    .warnings(w -> { });
            if (!row.isNullAt(sampler)) r.sampler(SamplerKind.parse(row.getString(sampler)));
            if (!row.isNullAt(decoder)) r.decoder(DecoderKind.parse(row.getString(decoder)));
            result = r.generate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("sdj: " + describe(row) + ": " + e.getMessage(), e);
        }
        byte[] png = PngWriter.encode(result.images().get(0), result.parameters(0));
        Timings t = result.timings();
        Object[] out = Arrays.copyOf(rowValues(row), row.length() + 6);
        int i = row.length();
        out[i++] = png;
        out[i++] = result.parameters(0);
        out[i++] = t.textEncoderNanos() / 1e9;
        out[i++] = t.totalStepNanos() / 1e9;
        out[i++] = t.decoderNanos() / 1e9;
        out[i] = (System.nanoTime() - t0) / 1e9;
        return RowFactory.create(out);
    }

    private Object required(Row row, int index, String column) {
        if (row.isNullAt(index)) throw new IllegalArgumentException("sdj: " + describe(row) + ": " + column + " is null");
        return row.get(index);
    }

    private String describe(Row row) {
        String p = row.isNullAt(prompt) ? "null" : row.getString(prompt);
        if (p.length() > 60) p = p.substring(0, 57) + "...";
        return "row with prompt \"" + p + "\", seed " + (row.isNullAt(seed) ? "null" : Long.toUnsignedString(row.getLong(seed)));
    }

    private static Object[] rowValues(Row row) {
        Object[] v = new Object[row.length()];
        for (int i = 0; i < v.length; i++) v[i] = row.get(i);
        return v;
    }
}
