package io.sdj.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.SamplerKind;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Spark job in {@code local[2]} (two tasks at once in this JVM, as two task slots of one executor) on the golden
 * tiny pipeline: every image is byte-identical to what {@link Txt2Img} gives in-process for the same request.
 */
class SparkImageGenerationTest {
    private static final StructType REQUESTS = new StructType()
            .add("id", DataTypes.StringType).add("prompt", DataTypes.StringType).add("negative_prompt", DataTypes.StringType)
            .add("seed", DataTypes.LongType).add("width", DataTypes.IntegerType).add("height", DataTypes.IntegerType)
            .add("steps", DataTypes.IntegerType).add("sampler", DataTypes.StringType).add("guidance", DataTypes.FloatType);

    /** id, prompt, negative, seed, width, height, steps, sampler, guidance (null: the default 7.5). */
    private static final List<Row> ROWS = List.of(
            RowFactory.create("fox", "a red fox in the snow", "blurry", 1L, 64, 64, 2, "ddim", 7.5f),
            RowFactory.create("astronaut", "a photograph of an astronaut riding a horse", null, 2L, 64, 64, 3, "euler", 1.0f),
            RowFactory.create("castle", "a castle on a hill, watercolor", "low quality", 3L, 64, 48, 2, "euler-a", 5f),
            RowFactory.create("lighthouse", "a lighthouse at dusk", null, 4L, 48, 64, 2, "dpmpp-2m", null),
            RowFactory.create("cat", "a (cat:1.2) on a sofa", "", 5L, 64, 64, 1, "ddim", 1.0f),
            RowFactory.create("city", "a city skyline at night, neon", "fog", 6L, 32, 64, 3, "pndm", 7.5f),
            RowFactory.create("forest", "a misty forest", null, -7L, 64, 32, 2, "ddim", 3f),
            RowFactory.create("boat", "a sailing boat on a calm sea", "people", 123456789012L, 64, 64, 2, "euler", 7.5f));

    private static SparkSession spark;
    private static Path model;

    @BeforeAll
    static void start() {
        model = Path.of(System.getProperty("golden.dir", "../shared/golden")).resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(model), "golden pipeline-sd1-tiny not found at " + model.toAbsolutePath() + " (set -Dgolden.dir)");
        spark = SparkSession.builder().master("local[2]").appName("sdj-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
        ExecutorModels.closeAll();
    }

    private static Dataset<Row> requests(List<Row> rows) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataFrame(jsc.parallelize(rows, 2), REQUESTS);
    }

    @Test
    void eightPromptsGiveTheBytesOfTxt2ImgAndLoadTheModelOncePerJvm(@TempDir Path out) throws Exception {
        ExecutorModels.closeAll();
        int loadsBefore = ExecutorModels.loads();
        Dataset<Row> images = SparkImageGeneration.generate(requests(ROWS), model.toString()).cache();
        List<Row> rows = images.collectAsList();
        assertThat(ExecutorModels.loads() - loadsBefore).as("model loads in this JVM during the job").isEqualTo(1);
        assertThat(rows).hasSize(8);
        assertThat(images.rdd().getNumPartitions()).isEqualTo(2);

        Map<String, byte[]> byId = new HashMap<>();
        try (Txt2Img sd = Txt2Img.load(model)) {
            for (Row row : rows) {
                Row in = ROWS.stream().filter(r -> r.getString(0).equals(row.getAs("id"))).findFirst().orElseThrow();
                Txt2Img.Request req = sd.request().prompt(in.getString(1)).negativePrompt(in.getString(2)).seed(in.getLong(3))
                        .size(in.getInt(4), in.getInt(5)).steps(in.getInt(6)).sampler(SamplerKind.parse(in.getString(7)));
                if (!in.isNullAt(8)) req.guidance(in.getFloat(8));
                GenerationResult expected = req.generate();
                byte[] png = row.getAs("png");
                assertThat(png).as(in.getString(0)).isEqualTo(PngWriter.encode(expected.images().get(0), expected.parameters(0)));
                assertThat((String) row.getAs("parameters")).isEqualTo(expected.parameters(0));
                BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(png));
                assertThat(decoded.getWidth()).isEqualTo(in.getInt(4));
                assertThat(decoded.getHeight()).isEqualTo(in.getInt(5));
                assertThat((Float) row.getAs("guidance")).isEqualTo(in.isNullAt(8) ? null : in.getFloat(8));
                assertThat((String) row.getAs("decoder")).isNull();
                for (String t : List.of("text_encoder_seconds", "denoising_seconds", "decoder_seconds")) {
                    assertThat((Double) row.getAs(t)).as(t).isPositive().isLessThan(row.getAs("seconds"));
                }
                byId.put(in.getString(0), png);
            }
        }
        assertThat(byId).hasSize(8);

        // the files: <id>.png with the same bytes; a rerun finds them identical; a changed file is not overwritten
        Path dir = out.resolve("pngs");
        assertThat(SparkImageGeneration.writePngs(images, dir.toString())).isEqualTo(8);
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> pngs = files.filter(f -> f.getFileName().toString().endsWith(".png")).toList();
            assertThat(pngs).hasSize(8);
            for (Path f : pngs) assertThat(Files.readAllBytes(f)).isEqualTo(byId.get(f.getFileName().toString().replace(".png", "")));
        }
        assertThat(SparkImageGeneration.writePngs(images, dir.toString())).isEqualTo(8);
        byte[] boat = Files.readAllBytes(dir.resolve("boat.png"));
        Files.write(dir.resolve("boat.png"), byId.get("fox"));
        assertThatThrownBy(() -> SparkImageGeneration.writePngs(images, dir.toString()))
                .hasStackTraceContaining("boat.png already exists with other content; not overwritten");
        Files.write(dir.resolve("boat.png"), boat);

        // without ids: named by seed and content hash
        Path anonymous = out.resolve("anonymous");
        assertThat(SparkImageGeneration.writePngs(images.drop("id"), anonymous.toString())).isEqualTo(8);
        try (Stream<Path> files = Files.list(anonymous)) {
            assertThat(files.map(f -> f.getFileName().toString()).toList())
                    .hasSize(8).allMatch(n -> n.matches("seed-\\d+-[0-9a-f]{12}\\.png")).contains(
                            "seed-18446744073709551609-" + java.util.HexFormat.of().formatHex(
                                    java.security.MessageDigest.getInstance("SHA-256").digest(byId.get("forest")), 0, 6) + ".png");
        }
        images.unpersist();
        assertThat(ExecutorModels.loads() - loadsBefore).as("model loads after every job").isEqualTo(1);
    }

    /**
     * sdj runs on Spark's Jackson (the module pins its Jackson to Spark's version): one Jackson version on the
     * classpath and Spark's Scala module accepts it. sdj's own JSON reading (the model's configs and tokenizer) runs
     * on it inside the executor tasks: the model load counted in the test above happens in a task.
     */
    @Test
    void sdjAndSparkShareOneJacksonVersion() {
        String databind = com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION.toString();
        assertThat(com.fasterxml.jackson.core.json.PackageVersion.VERSION.toString()).isEqualTo(databind);
        assertThat(com.fasterxml.jackson.module.scala.DefaultScalaModule$.MODULE$.version().toString()).isEqualTo(databind);
        ObjectMapper mapper = new ObjectMapper().registerModule(com.fasterxml.jackson.module.scala.DefaultScalaModule$.MODULE$);
        assertThat(mapper.getRegisteredModuleIds()).isNotEmpty();
        assertThat(DataType.fromJson(REQUESTS.json())).isEqualTo(REQUESTS);
    }

    /** The submit-ready job reads JSON lines (numbers inferred as long/double, cast to the columns' types). */
    @Test
    void theExampleJobWritesOnePngPerLine(@TempDir Path tmp) throws Exception {
        Path requests = Files.writeString(tmp.resolve("requests.jsonl"), """
                {"id": "tree", "prompt": "a tree", "seed": 11, "width": 32, "height": 32, "steps": 1, "sampler": "ddim", "guidance": 1.5}
                {"prompt": "a river", "seed": 12, "width": 32, "height": 40, "steps": 2, "sampler": "euler"}
                """);
        Path out = tmp.resolve("out");
        assertThat(GenerateImages.run(spark, model.toString(), requests.toString(), out.toString())).isEqualTo(2);
        try (Txt2Img sd = Txt2Img.load(model); Stream<Path> files = Files.list(out)) {
            GenerationResult tree = sd.request().prompt("a tree").seed(11).size(32, 32).steps(1).sampler(SamplerKind.DDIM).guidance(1.5f).generate();
            assertThat(Files.readAllBytes(out.resolve("tree.png"))).isEqualTo(PngWriter.encode(tree.images().get(0), tree.parameters(0)));
            GenerationResult river = sd.request().prompt("a river").seed(12).size(32, 40).steps(2).sampler(SamplerKind.EULER).generate();
            byte[] riverPng = PngWriter.encode(river.images().get(0), river.parameters(0));
            String riverName = "seed-12-" + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(riverPng), 0, 6) + ".png";
            assertThat(files.map(f -> f.getFileName().toString()).toList()).containsExactlyInAnyOrder("tree.png", riverName);
            assertThat(Files.readAllBytes(out.resolve(riverName))).isEqualTo(riverPng);
        }
    }

    /**
     * A cancelled job's task stops at its next denoising step (999 steps at 256² would run for minutes; 1000 would be refused): Spark marks
     * the killed task, the generation sees the mark in its progress listener and ends.
     */
    @Test
    void aCancelledJobStopsItsGeneration() throws Exception {
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1), ended = new java.util.concurrent.CountDownLatch(1);
        org.apache.spark.scheduler.SparkListener listener = new org.apache.spark.scheduler.SparkListener() {
            @Override public void onTaskStart(org.apache.spark.scheduler.SparkListenerTaskStart e) { started.countDown(); }
            @Override public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) { ended.countDown(); }
        };
        spark.sparkContext().addSparkListener(listener);
        try {
            List<Row> endless = List.of(RowFactory.create("long", "a very long run", null, 1L, 256, 256, 999, "ddim", 7.5f));
            Dataset<Row> job = SparkImageGeneration.generate(spark.createDataFrame(endless, REQUESTS).coalesce(1), model.toString());
            java.util.concurrent.CompletableFuture<List<Row>> run = java.util.concurrent.CompletableFuture.supplyAsync(job::collectAsList);
            assertThat(started.await(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            Thread.sleep(3000);   // the model is loaded and the steps are running
            long cancelled = System.nanoTime();
            spark.sparkContext().cancelAllJobs();
            assertThatThrownBy(run::join).hasStackTraceContaining("cancelled");
            assertThat(ended.await(20, java.util.concurrent.TimeUnit.SECONDS)).as("the killed task ended").isTrue();
            assertThat((System.nanoTime() - cancelled) / 1e9).isLessThan(20);
        } finally {
            spark.sparkContext().removeSparkListener(listener);
        }
    }

    @Test
    void badRowsAndMissingColumnsFailWithTheirReason() {
        List<Row> bad = new ArrayList<>();
        bad.add(RowFactory.create("odd", "a tree", null, 9L, 100, 64, 1, "ddim", 1f));
        SparkException e = org.junit.jupiter.api.Assertions.assertThrows(SparkException.class,
                () -> SparkImageGeneration.generate(requests(bad), model.toString()).collectAsList());
        assertThat(e).hasStackTraceContaining("sdj: row with prompt \"a tree\", seed 9: width must be a positive multiple of 8, got 100");

        Dataset<Row> noSeed = requests(ROWS).drop("seed");
        assertThatThrownBy(() -> SparkImageGeneration.generate(noSeed, model.toString()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("the requests need a column 'seed'");

        List<Row> sampler = List.of(RowFactory.create("x", "a tree", null, 9L, 64, 64, 1, "heun", 1f));
        assertThat(org.junit.jupiter.api.Assertions.assertThrows(SparkException.class,
                () -> SparkImageGeneration.generate(requests(sampler), model.toString()).collectAsList()))
                .hasStackTraceContaining("sdj: row with prompt \"a tree\", seed 9: ").hasStackTraceContaining("heun");

        assertThatThrownBy(() -> SparkImageGeneration.generate(requests(ROWS), "/nonexistent/model.sdj").collectAsList())
                .hasStackTraceContaining("/nonexistent/model.sdj");
    }
}
