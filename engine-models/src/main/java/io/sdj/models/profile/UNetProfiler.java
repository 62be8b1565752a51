package io.sdj.models.profile;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.pipeline.Cancellation;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.unet.UNetCost;
import io.sdj.ops.Gemm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Times a UNet part by part. Each measured run is one ordinary forward pass with a {@link PartClock} as its trace:
 * the model marks the end of every part (see {@link UNetCost.Part}), and a part's time is the interval since the
 * previous mark, so the parts tile the pass and their sum is the pass's time. The clock adds one
 * {@code System.nanoTime()} per mark (a few hundred per pass) and nothing else; to show what that costs, every
 * profiled run is paired with an untraced run of the same inputs ({@link UNetProfile#plainMs}).
 * Warm-up runs (JIT, workspace buffers, packed weights) come first and are not counted. Times are interquartile means
 * over the measured runs (see {@link UNetProfile}).
 */
public final class UNetProfiler {
    /** Progress of a long profile: {@code phase} is "warm-up" or "measure". */
    @FunctionalInterface
    public interface Progress {
        void update(String phase, int done, int total, double lastMs);
    }

    private static final Pattern BLOCK = Pattern.compile(
            "^((?:down_blocks\\.\\d+|up_blocks\\.\\d+|mid_block)\\.(?:resnets|attentions|downsamplers|upsamplers)\\.\\d+)");
    private static final Pattern CONTAINER = Pattern.compile("^(?:down_blocks\\.\\d+|up_blocks\\.\\d+|mid_block)$");

    private UNetProfiler() {}

    /**
     * The block a part, mark or weight belongs to: {@code down_blocks.1.attentions.0} for everything under it,
     * {@code conv_in}, {@code time_embedding} (with {@code time_proj}), {@code conv_norm_out}, {@code conv_out}.
     */
    public static String blockOf(String name) {
        Matcher m = BLOCK.matcher(name);
        if (m.find()) return m.group(1);
        if (name.equals("time_proj")) return "time_embedding";
        int dot = name.indexOf('.');
        return dot < 0 ? name : name.substring(0, dot);
    }

    /**
     * Profiles {@code unet} at batch {@code batch} on an h×w latent with 77 random text tokens.
     *
     * @param weights the source the model was built from (parameters per block are counted from it)
     */
    public static UNetProfile profile(String arch, UNet2DConditionModel unet, WeightSource weights, int batch, int h, int w,
                                      int warmup, int runs, Cancellation cancel, Progress progress) {
        if (batch < 1 || h < 1 || w < 1 || warmup < 0 || runs < 1) {
            throw new IllegalArgumentException("profile: batch, latent size and runs must be ≥ 1, warm-up ≥ 0 (got batch " + batch
                    + ", latent " + h + "×" + w + ", warm-up " + warmup + ", runs " + runs + ")");
        }
        UNetConfig c = unet.config();
        Tensor sample = random(1, batch, c.inChannels(), h, w);
        Tensor context = random(2, batch, UNetCost.TEXT_TOKENS_DEFAULT, c.crossAttentionDim()[c.numBlocks() - 1]);
        Tensor cond = c.timeCondProjDim() == null ? null : random(3, batch, c.timeCondProjDim());
        float[] t = new float[batch];
        for (int i = 0; i < batch; i++) t[i] = 999 - 400 * i;
        Workspace ws = new Workspace();
        PartClock clock = new PartClock();

        for (int i = 0; i < warmup; i++) {
            cancel.check("during warm-up");
            long t0 = System.nanoTime();
            forward(unet, ws, sample, t, context, cond, i % 2 == 0 ? clock : Trace.NONE);
            progress.update("warm-up", i + 1, warmup, (System.nanoTime() - t0) / 1e6);
        }

        List<Map<String, Double>> blockMs = new ArrayList<>(), kindMs = new ArrayList<>();
        Map<String, String> resolution = new LinkedHashMap<>();
        double[] total = new double[runs], plain = new double[runs], partSum = new double[runs];
        for (int r = 0; r < runs; r++) {
            cancel.check("while measuring");
            long p0 = System.nanoTime();
            forward(unet, ws, sample, t, context, cond, Trace.NONE);
            plain[r] = (System.nanoTime() - p0) / 1e6;
            cancel.check("while measuring");
            clock.start();
            forward(unet, ws, sample, t, context, cond, clock);
            long end = System.nanoTime();
            total[r] = (end - clock.startNanos()) / 1e6;
            Map<String, Double> blocks = new LinkedHashMap<>(), kinds = new LinkedHashMap<>();
            String block = null;
            PartKind kind = PartKind.OTHER;
            for (int i = 0; i < clock.stamps(); i++) {
                String name = clock.name(i);
                if (!CONTAINER.matcher(name).matches() || block == null) {   // a block's own stamp comes right after its last part
                    block = blockOf(name);
                    kind = PartKind.of(name);
                }
                double ms = clock.interval(i) / 1e6;
                partSum[r] += ms;
                blocks.merge(block, ms, Double::sum);
                kinds.merge(kind.label(), ms, Double::sum);
                int[] s = clock.size(i);
                if (s != null) resolution.put(block, s[0] + "×" + s[1]);
            }
            blockMs.add(blocks);
            kindMs.add(kinds);
            progress.update("measure", r + 1, runs, total[r]);
        }
        // the middle runs by total time (a quarter trimmed from each end): every time below is a mean over these
        // runs, so the rows add up to the total as each run's parts add up to the run (medians per row would not)
        Integer[] order = new Integer[runs];
        for (int r = 0; r < runs; r++) order[r] = r;
        Arrays.sort(order, Comparator.comparingDouble(r -> total[r]));
        int trim = runs / 4;
        int[] middle = new int[runs - 2 * trim];
        for (int i = 0; i < middle.length; i++) middle[i] = order[trim + i];
        double totalMs = meanOver(middle, total);

        // parameters per block and kind from the weights the model was built from; FLOPs from the cost walk
        Map<String, Long> blockParams = new LinkedHashMap<>(), kindParams = new LinkedHashMap<>();
        long params = 0;
        for (String name : weights.names()) {
            long n = numel(weights, name);
            params += n;
            blockParams.merge(blockOf(name), n, Long::sum);
            kindParams.merge(PartKind.of(name).label(), n, Long::sum);
        }
        Map<String, Long> blockFlops = new LinkedHashMap<>(), kindFlops = new LinkedHashMap<>();
        long flops = 0;
        for (UNetCost.Part p : UNetCost.parts(c, batch, h, w, UNetCost.TEXT_TOKENS_DEFAULT)) {
            flops += p.flops();
            blockFlops.merge(blockOf(p.name()), p.flops(), Long::sum);
            kindFlops.merge(PartKind.of(p.name()).label(), p.flops(), Long::sum);
        }

        List<UNetProfile.Row> rows = new ArrayList<>();
        for (String b : blockMs.get(0).keySet()) {
            double ms = meanOf(blockMs, middle, b);
            rows.add(new UNetProfile.Row(b, resolution.getOrDefault(b, "-"), ms, ms / totalMs,
                    blockParams.getOrDefault(b, 0L), blockFlops.getOrDefault(b, 0L)));
        }

        Map<String, List<String>> byRes = new LinkedHashMap<>();
        for (UNetProfile.Row row : rows) byRes.computeIfAbsent(row.resolution(), k -> new ArrayList<>()).add(row.name());
        List<UNetProfile.Row> resRows = new ArrayList<>();
        for (var e : byRes.entrySet()) {
            double[] perRun = new double[runs];
            for (int r = 0; r < runs; r++) for (String b : e.getValue()) perRun[r] += blockMs.get(r).getOrDefault(b, 0.0);
            long p = 0, f = 0;
            for (String b : e.getValue()) {
                p += blockParams.getOrDefault(b, 0L);
                f += blockFlops.getOrDefault(b, 0L);
            }
            double ms = meanOver(middle, perRun);
            resRows.add(new UNetProfile.Row(e.getKey(), e.getKey(), ms, ms / totalMs, p, f));
        }
        resRows.sort(Comparator.comparingLong(UNetProfiler::pixels).reversed());

        List<UNetProfile.Row> kindRows = new ArrayList<>();
        for (PartKind k : PartKind.values()) {
            double ms = meanOf(kindMs, middle, k.label());
            kindRows.add(new UNetProfile.Row(k.label(), "-", ms, ms / totalMs, kindParams.getOrDefault(k.label(), 0L),
                    kindFlops.getOrDefault(k.label(), 0L)));
        }
        return new UNetProfile(arch, batch, h, w, Parallel.threads(), Gemm.panelWidth() * 16, warmup, runs, totalMs,
                meanOver(middle, partSum), interquartileMean(plain), params, flops, rows, resRows, kindRows);
    }

    private static void forward(UNet2DConditionModel unet, Workspace ws, Tensor sample, float[] t, Tensor context, Tensor cond, Trace trace) {
        Tensor out = unet.forward(ws, sample, t, context, cond, trace);
        ws.release(out);
    }

    private static long numel(WeightSource w, String name) {
        int[] shape = w instanceof SyntheticWeights s ? s.shape(name) : w.get(name).shape();
        return Tensor.numel(shape);
    }

    private static long pixels(UNetProfile.Row r) {
        int x = r.resolution().indexOf('×');
        if (x < 0) return -1;
        return Long.parseLong(r.resolution().substring(0, x)) * Long.parseLong(r.resolution().substring(x + 1));
    }

    private static double meanOf(List<Map<String, Double>> runs, int[] which, String key) {
        double s = 0;
        for (int r : which) s += runs.get(r).getOrDefault(key, 0.0);
        return s / which.length;
    }

    private static double meanOver(int[] which, double[] v) {
        double s = 0;
        for (int r : which) s += v[r];
        return s / which.length;
    }

    /** Mean of the values after dropping a quarter (rounded down) from each end. */
    static double interquartileMean(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int trim = s.length / 4;
        double sum = 0;
        for (int i = trim; i < s.length - trim; i++) sum += s[i];
        return sum / (s.length - 2 * trim);
    }


    /** A tensor of this shape with standard normal values from {@code seed} (the profile's inputs). */
    static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }
}
