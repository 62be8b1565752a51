package io.sdj.spark;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The input columns of a generation job, by name (any order; other columns pass through untouched):
 * <table>
 *   <tr><th>column</th><th>type</th><th>when absent or null</th></tr>
 *   <tr><td>{@code prompt}</td><td>string</td><td>required</td></tr>
 *   <tr><td>{@code seed}</td><td>long</td><td>required (torch CPU generator seed, as {@code sdj generate --seed})</td></tr>
 *   <tr><td>{@code negative_prompt}</td><td>string</td><td>none</td></tr>
 *   <tr><td>{@code width}, {@code height}</td><td>int</td><td>512</td></tr>
 *   <tr><td>{@code steps}</td><td>int</td><td>the model's default</td></tr>
 *   <tr><td>{@code sampler}</td><td>string ({@code ddim}, {@code euler}, {@code euler-a}, {@code dpmpp-2m}, …)</td><td>the model's default</td></tr>
 *   <tr><td>{@code guidance}</td><td>float (CFG scale)</td><td>7.5</td></tr>
 *   <tr><td>{@code decoder}</td><td>string ({@code vae} or {@code taesd})</td><td>vae</td></tr>
 *   <tr><td>{@code id}</td><td>string</td><td>used only for file names ({@link SparkImageGeneration#writePngs})</td></tr>
 * </table>
 * A column that is present is cast to its type (so {@code seed} may come as an int or a numeric string); an absent
 * optional column is added as nulls, so the output shows every parameter a row was generated with.
 */
public final class RequestColumns {
    public static final String PROMPT = "prompt", SEED = "seed", NEGATIVE_PROMPT = "negative_prompt", WIDTH = "width",
            HEIGHT = "height", STEPS = "steps", SAMPLER = "sampler", GUIDANCE = "guidance", DECODER = "decoder", ID = "id";

    /** The result columns appended to the input's. */
    public static final String PNG = "png", PARAMETERS = "parameters", TEXT_ENCODER_SECONDS = "text_encoder_seconds",
            DENOISING_SECONDS = "denoising_seconds", DECODER_SECONDS = "decoder_seconds", SECONDS = "seconds";

    private record Spec(String name, DataType type, boolean required) { }

    private static final List<Spec> INPUTS = List.of(
            new Spec(PROMPT, DataTypes.StringType, true),
            new Spec(SEED, DataTypes.LongType, true),
            new Spec(NEGATIVE_PROMPT, DataTypes.StringType, false),
            new Spec(WIDTH, DataTypes.IntegerType, false),
            new Spec(HEIGHT, DataTypes.IntegerType, false),
            new Spec(STEPS, DataTypes.IntegerType, false),
            new Spec(SAMPLER, DataTypes.StringType, false),
            new Spec(GUIDANCE, DataTypes.FloatType, false),
            new Spec(DECODER, DataTypes.StringType, false),
            new Spec(ID, DataTypes.StringType, false));

    private RequestColumns() {}

    /**
     * {@code requests} with the known columns cast to their types and the absent optional ones added as nulls.
     * @throws IllegalArgumentException naming a missing required column
     */
    static Dataset<Row> normalize(Dataset<Row> requests) {
        List<String> present = Arrays.asList(requests.columns());
        List<Column> select = new ArrayList<>();
        for (String c : present) {
            Spec s = spec(c);
            select.add(s == null ? requests.col(quoted(c)) : requests.col(quoted(c)).cast(s.type()).as(c));
        }
        for (Spec s : INPUTS) {
            if (present.contains(s.name())) continue;
            if (s.required()) {
                throw new IllegalArgumentException("the requests need a column '" + s.name() + "' (columns: " + String.join(", ", present) + ")");
            }
            select.add(functions.lit(null).cast(s.type()).as(s.name()));
        }
        return requests.select(select.toArray(Column[]::new));
    }

    /** The output schema: the normalised input columns, then png, parameters and the timings. */
    static StructType output(StructType normalized) {
        return normalized
                .add(new StructField(PNG, DataTypes.BinaryType, false, org.apache.spark.sql.types.Metadata.empty()))
                .add(new StructField(PARAMETERS, DataTypes.StringType, false, org.apache.spark.sql.types.Metadata.empty()))
                .add(new StructField(TEXT_ENCODER_SECONDS, DataTypes.DoubleType, false, org.apache.spark.sql.types.Metadata.empty()))
                .add(new StructField(DENOISING_SECONDS, DataTypes.DoubleType, false, org.apache.spark.sql.types.Metadata.empty()))
                .add(new StructField(DECODER_SECONDS, DataTypes.DoubleType, false, org.apache.spark.sql.types.Metadata.empty()))
                .add(new StructField(SECONDS, DataTypes.DoubleType, false, org.apache.spark.sql.types.Metadata.empty()));
    }

    private static Spec spec(String column) {
        for (Spec s : INPUTS) if (s.name().equals(column)) return s;
        return null;
    }

    /** A column name as {@code Dataset.col} reads it literally (dots and backticks in names). */
    private static String quoted(String c) {
        return "`" + c.replace("`", "``") + "`";
    }
}
