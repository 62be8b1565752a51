package io.sdj.models.profile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * The result of {@link UNetProfiler}: where one UNet evaluation's time goes. Times are interquartile means: the
 * measured runs are ranked by their total time, a quarter is dropped from each end (runs hit by other processes'
 * load), and every time — total, block, resolution, kind — is the mean over the same remaining runs. Like a median it
 * ignores outlier runs; unlike per-row medians (which on a loaded machine added up to 8–16% less than the median
 * total) the rows add up to the total, because each run's parts add up to that run. With fewer than 4 runs nothing
 * is dropped. Parameters come from the model's weights, FLOPs (2 × multiply-adds) from
 * {@link io.sdj.models.unet.UNetCost#parts}.
 *
 * @param arch      what was profiled (a bundled name, a config or model path)
 * @param totalMs   time of a profiled forward (start to return), interquartile mean
 * @param partSumMs the same mean of each run's sum of part times (the parts tile the pass: equal to {@code totalMs}
 *                  but for the return from the last part)
 * @param plainMs   interquartile mean time of a forward without any trace, interleaved with the profiled ones
 * @param blocks    per block in execution order: {@code conv_in}, {@code time_embedding}, {@code down_blocks.i.resnets.j},
 *                  {@code down_blocks.i.attentions.j}, samplers, mid, up, {@code conv_norm_out}, {@code conv_out}
 * @param byResolution the blocks grouped by the resolution of their output (largest first; "-" for the time embedding)
 * @param byKind    resnet / self-attention / cross-attention / feed-forward / other, each transformer layer split
 *                  into its three sub-layers (each with its LayerNorm); norms and projections around them are "other"
 */
public record UNetProfile(String arch, int batch, int latentHeight, int latentWidth, int threads, int vectorBits,
                          int warmup, int runs, double totalMs, double partSumMs, double plainMs, long parameters, long flops,
                          List<Row> blocks, List<Row> byResolution, List<Row> byKind) {

    /** One line of a table: ms (interquartile mean), its share of {@link #totalMs}, parameters, FLOPs; resolution "H×W" or "-". */
    public record Row(String name, String resolution, double ms, double share, long parameters, long flops) {
        public double gflop() { return flops / 1e9; }

        /** GFLOP/s of this row's time (0 when no time was measured). */
        public double gflopPerSecond() { return ms > 0 ? flops / 1e6 / ms : 0; }
    }

    public UNetProfile {
        blocks = List.copyOf(blocks);
        byResolution = List.copyOf(byResolution);
        byKind = List.copyOf(byKind);
    }

    /** Sum of the blocks' times. */
    public double blockSumMs() { return blocks.stream().mapToDouble(Row::ms).sum(); }

    /** How much slower a profiled forward was than an untraced one (0.02 = 2%). */
    public double overhead() { return plainMs > 0 ? totalMs / plainMs - 1 : 0; }

    public double gflopPerSecond() { return totalMs > 0 ? flops / 1e6 / totalMs : 0; }

    /** Machine-readable form ({@code sdj profile --json}). */
    public ObjectNode toJson() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        o.put("arch", arch);
        o.put("batch", batch);
        o.putArray("latent").add(latentHeight).add(latentWidth);
        o.put("threads", threads);
        o.put("vector_bits", vectorBits);
        o.put("warmup", warmup);
        o.put("runs", runs);
        o.put("total_ms", totalMs);
        o.put("untraced_total_ms", plainMs);
        o.put("part_sum_ms", partSumMs);
        o.put("block_sum_ms", blockSumMs());
        o.put("parameters", parameters);
        o.put("flops", flops);
        o.put("gflop_per_s", gflopPerSecond());
        rows(o.putArray("blocks"), blocks);
        rows(o.putArray("by_resolution"), byResolution);
        rows(o.putArray("by_kind"), byKind);
        return o;
    }

    private static void rows(ArrayNode a, List<Row> rows) {
        for (Row r : rows) {
            ObjectNode o = a.addObject();
            o.put("name", r.name());
            o.put("resolution", r.resolution());
            o.put("ms", r.ms());
            o.put("share", r.share());
            o.put("parameters", r.parameters());
            o.put("flops", r.flops());
            o.put("gflop_per_s", r.gflopPerSecond());
        }
    }
}
