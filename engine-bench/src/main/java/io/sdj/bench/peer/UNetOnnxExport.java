package io.sdj.bench.peer;

import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.models.unet.UNetConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.sdj.bench.peer.OnnxGraph.Attr;

/**
 * A stock diffusers {@code UNet2DConditionModel} (SD 1.x / 2.x, BK-SDM) written as an ONNX graph with the weights of
 * any {@link WeightSource}, for timing a peer runtime on exactly the model sdj runs. The graph is the one a PyTorch
 * export of the diffusers module gives, op for op: GroupNorm as Reshape → InstanceNormalization → Reshape → affine,
 * Linear as MatMul (+ Add), SiLU as x·Sigmoid(x), exact GELU through Erf, attention as MatMul → scale → Softmax →
 * MatMul per head, nearest Resize to the next skip's size. Graph inputs: {@code sample} [B, in, H, W] (any H, W),
 * {@code time_proj} [B, C₀] (the sinusoidal timestep embedding, computed by the caller), {@code encoder_hidden_states}
 * [B, S, D]; output {@code out_sample} [B, out, H, W].
 * Efficient-block configs, LCM's {@code time_cond_proj_dim} and {@code center_input_sample} are refused.
 */
public final class UNetOnnxExport {
    private static final float TRANSFORMER_NORM_EPS = 1e-6f, LAYER_NORM_EPS = 1e-5f;

    private final UNetConfig c;
    private final WeightSource w;
    private final OnnxGraph g;
    private String tembAct, context;

    private UNetOnnxExport(UNetConfig c, WeightSource w, OnnxGraph g) {
        this.c = c;
        this.w = w;
        this.g = g;
    }

    /** Writes {@code model} and {@code model.data}. */
    public static void write(UNetConfig c, WeightSource w, Path model) {
        if (!c.efficient().isStock()) throw new IllegalArgumentException("ONNX export: only stock diffusers blocks, not " + c.efficient());
        if (c.timeCondProjDim() != null) throw new IllegalArgumentException("ONNX export: time_cond_proj_dim is not supported");
        if (c.centerInputSample()) throw new IllegalArgumentException("ONNX export: center_input_sample is not supported");
        if (Arrays.stream(c.crossAttentionDim()).distinct().count() != 1) {
            throw new IllegalArgumentException("ONNX export: cross_attention_dim must be the same for every block: " + Arrays.toString(c.crossAttentionDim()));
        }
        try (OnnxGraph g = new OnnxGraph(model)) {
            new UNetOnnxExport(c, w, g).build();
            g.write("sdj UNetOnnxExport");
        }
    }

    private void build() {
        int[] ch = c.blockOutChannels();
        int n = ch.length;
        String sample = g.input("sample", OnnxGraph.FLOAT, "batch", c.inChannels(), "height", "width");
        String timeProj = g.input("time_proj", OnnxGraph.FLOAT, "batch", ch[0]);
        context = g.input("encoder_hidden_states", OnnxGraph.FLOAT, "batch", "tokens", c.crossAttentionDim()[0]);

        String emb = linear(silu(linear(timeProj, "time_embedding.linear_1")), "time_embedding.linear_2");
        tembAct = silu(emb);

        String h = conv(sample, "conv_in", 1, (c.convInKernel() - 1) / 2);
        List<String> skips = new ArrayList<>(List.of(h));
        for (int i = 0; i < n; i++) {
            String p = "down_blocks." + i + ".";
            for (int j = 0; j < c.layersPerBlock()[i]; j++) {
                h = resnet(h, p + "resnets." + j, c.resnetOutScaleFactor());
                if (c.downAttention(i, j)) h = transformer(h, p + "attentions." + j, c.numAttentionHeads()[i], c.transformerLayers()[i][j]);
                skips.add(h);
            }
            if (i < n - 1) {
                h = conv(h, p + "downsamplers.0.conv", 2, c.downsamplePadding());
                skips.add(h);
            }
        }
        if (c.hasMidBlock()) {
            h = resnet(h, "mid_block.resnets.0", c.midBlockScaleFactor());
            h = transformer(h, "mid_block.attentions.0", c.numAttentionHeads()[n - 1], c.efficient().midBlockTransformerLayers());
            h = resnet(h, "mid_block.resnets.1", c.midBlockScaleFactor());
        }
        for (int j = 0; j < n; j++) {
            String p = "up_blocks." + j + ".";
            int level = c.upLevel(j);
            for (int k = 0; k < c.upLayers(j); k++) {
                h = g.node("Concat", p + "resnets." + k, List.of(h, skips.removeLast()), Attr.i("axis", 1));
                h = resnet(h, p + "resnets." + k, c.resnetOutScaleFactor());
                if (c.upAttention(j, k)) h = transformer(h, p + "attentions." + k, c.numAttentionHeads()[level], c.upTransformerLayers()[j][k]);
            }
            if (j < n - 1) {
                String next = skips.getLast();   // upsample to the size of the skip the next block concatenates
                String size = g.node("Concat", p + "upsamplers.0", List.of(g.node("Shape", p + "upsamplers.0", h, Attr.i("end", 2)),
                        g.node("Shape", p + "upsamplers.0", next, Attr.i("start", 2))), Attr.i("axis", 0));
                String up = g.node("Resize", p + "upsamplers.0", List.of(h, "", "", size),
                        Attr.s("mode", "nearest"), Attr.s("coordinate_transformation_mode", "asymmetric"), Attr.s("nearest_mode", "floor"));
                h = conv(up, p + "upsamplers.0.conv", 1, 1);
            }
        }
        h = silu(groupNorm(h, "conv_norm_out", c.normEps()));
        h = conv(h, "conv_out", 1, (c.convOutKernel() - 1) / 2);
        g.output(g.nodeNamed("Identity", "out_sample", List.of(h)), OnnxGraph.FLOAT, "batch", c.outChannels(), "height", "width");
    }

    // ---- blocks, as in diffusers ----

    /** ResnetBlock2D: conv2(SiLU(norm2(conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(temb))))) + shortcut(x), ÷ scale. */
    private String resnet(String x, String p, float outputScale) {
        p += ".";
        String h = conv(silu(groupNorm(x, p + "norm1", c.normEps())), p + "conv1", 1, 1);
        String t = linear(tembAct, p + "time_emb_proj");
        h = g.node("Add", p + "time", h, g.node("Unsqueeze", p + "time", t, g.int64s(p, 2, 3)));
        h = conv(silu(groupNorm(h, p + "norm2", c.normEps())), p + "conv2", 1, 1);
        String shortcut = w.contains(p + "conv_shortcut.weight") ? conv(x, p + "conv_shortcut", 1, 0) : x;
        String out = g.node("Add", p + "out", shortcut, h);
        return outputScale == 1f ? out : g.node("Div", p + "out", out, g.scalar(p, outputScale));
    }

    /** Transformer2DModel: x + proj_out(blocks(proj_in(norm(x)))), tokens [B, HW, C] in between. */
    private String transformer(String x, String p, int heads, int layers) {
        p += ".";
        String n = groupNorm(x, p + "norm", TRANSFORMER_NORM_EPS);
        String t = c.useLinearProjection() ? linear(tokens(n, p), p + "proj_in") : tokens(conv(n, p + "proj_in", 1, 0), p);
        for (int i = 0; i < layers; i++) t = transformerBlock(t, p + "transformer_blocks." + i + ".", heads);
        String image = c.useLinearProjection() ? image(linear(t, p + "proj_out"), x, p) : conv(image(t, x, p), p + "proj_out", 1, 0);
        return g.node("Add", p + "out", x, image);
    }

    /** BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward, each pre-LayerNorm with a residual. */
    private String transformerBlock(String h, String p, int heads) {
        String n1 = layerNorm(h, p + "norm1");
        h = g.node("Add", p + "attn1", h, attention(n1, n1, p + "attn1.", heads));
        String n2 = layerNorm(h, p + "norm2");
        h = g.node("Add", p + "attn2", h, attention(n2, context, p + "attn2.", heads));
        String n3 = layerNorm(h, p + "norm3");
        return g.node("Add", p + "ff", h, geglu(n3, p + "ff."));
    }

    /** to_out(softmax(q·kᵀ/√d)·v) per head; q from x, k and v from the context. */
    private String attention(String x, String ctx, String p, int heads) {
        WeightTensor wq = w.get(p + "to_q.weight");
        int inner = wq.dim(0), d = inner / heads;
        String q = g.node("Transpose", p + "q", g.node("Reshape", p + "q", matmul(x, p + "to_q", wq), g.int64s(p, 0, 0, heads, d)), Attr.ints("perm", 0, 2, 1, 3));
        String k = g.node("Transpose", p + "k", g.node("Reshape", p + "k", matmul(ctx, p + "to_k"), g.int64s(p, 0, 0, heads, d)), Attr.ints("perm", 0, 2, 3, 1));
        String v = g.node("Transpose", p + "v", g.node("Reshape", p + "v", matmul(ctx, p + "to_v"), g.int64s(p, 0, 0, heads, d)), Attr.ints("perm", 0, 2, 1, 3));
        String s = g.node("Mul", p + "scores", g.node("MatMul", p + "scores", q, k), g.scalar(p, (float) (1 / Math.sqrt(d))));
        String a = g.node("MatMul", p + "values", g.node("Softmax", p + "softmax", s, Attr.i("axis", -1)), v);
        a = g.node("Reshape", p + "merge", g.node("Transpose", p + "merge", a, Attr.ints("perm", 0, 2, 1, 3)), g.int64s(p, 0, 0, inner));
        return linear(a, p + "to_out.0");
    }

    /** net.2(hidden · GELU(gate)), [hidden, gate] = net.0.proj(x) split in halves. */
    private String geglu(String x, String p) {
        String proj = linear(x, p + "net.0.proj");
        int inner = w.get(p + "net.0.proj.bias").dim(0) / 2;
        String[] halves = g.nodeN("Split", p + "geglu", List.of(proj, g.int64s(p, inner, inner)), 2, Attr.i("axis", -1));
        String gate = halves[1];
        String erf = g.node("Erf", p + "gelu", g.node("Div", p + "gelu", gate, g.scalar(p, (float) Math.sqrt(2))));
        String gelu = g.node("Mul", p + "gelu", g.node("Mul", p + "gelu", gate, g.node("Add", p + "gelu", erf, g.scalar(p, 1f))), g.scalar(p, 0.5f));
        return linear(g.node("Mul", p + "geglu", halves[0], gelu), p + "net.2");
    }

    // ---- layers ----

    private String silu(String x) { return g.node("Mul", "silu", x, g.node("Sigmoid", "silu", x)); }

    /** GroupNorm(groups of c.normNumGroups()) with the affine weight and bias of {@code p}. */
    private String groupNorm(String x, String p, float eps) {
        int channels = w.get(p + ".weight").dim(0), groups = c.normNumGroups();
        float[] ones = new float[groups], zeros = new float[groups];
        Arrays.fill(ones, 1f);
        String grouped = g.node("Reshape", p, x, g.int64s(p, 0, groups, -1));
        String normed = g.node("InstanceNormalization", p, List.of(grouped, g.floats(p, ones, groups), g.floats(p, zeros, groups)), Attr.f("epsilon", eps));
        String back = g.node("Reshape", p, normed, g.node("Shape", p, x));
        String scaled = g.node("Mul", p, back, g.weight(p + ".weight", tensor(p + ".weight", channels).toFloats(), channels, 1, 1));
        return g.node("Add", p, scaled, g.weight(p + ".bias", tensor(p + ".bias", channels).toFloats(), channels, 1, 1));
    }

    private String layerNorm(String x, String p) {
        WeightTensor scale = w.get(p + ".weight");
        int dim = scale.dim(0);
        return g.node("LayerNormalization", p, List.of(x, g.weight(p + ".weight", scale.toFloats(), dim),
                g.weight(p + ".bias", tensor(p + ".bias", dim).toFloats(), dim)), Attr.i("axis", -1), Attr.f("epsilon", LAYER_NORM_EPS));
    }

    private String conv(String x, String p, int stride, int pad) {
        WeightTensor k = w.get(p + ".weight");
        int out = k.dim(0), in = k.dim(1), kh = k.dim(2), kw = k.dim(3);
        String weight = g.weight(p + ".weight", k.toFloats(), out, in, kh, kw);
        String bias = g.weight(p + ".bias", tensor(p + ".bias", out).toFloats(), out);
        return g.node("Conv", p, List.of(x, weight, bias), Attr.ints("kernel_shape", kh, kw), Attr.ints("strides", stride, stride),
                Attr.ints("pads", pad, pad, pad, pad));
    }

    /** x · Wᵀ + b for {@code p.weight} [out, in] (a 1×1 conv weight [out, in, 1, 1] too) and {@code p.bias}. */
    private String linear(String x, String p) {
        WeightTensor t = w.get(p + ".weight");
        int out = t.dim(0);
        return g.node("Add", p, matmul(x, p, t), g.weight(p + ".bias", tensor(p + ".bias", out).toFloats(), out));
    }

    private String matmul(String x, String p) { return matmul(x, p, w.get(p + ".weight")); }

    /** x · Wᵀ, the weight stored transposed ([in, out]) as a MatMul initializer. */
    private String matmul(String x, String p, WeightTensor t) {
        int out = t.dim(0), in = (int) (t.numel() / out);
        float[] v = t.toFloats(), vt = new float[v.length];
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) vt[i * out + o] = v[o * in + i];
        return g.node("MatMul", p, x, g.weight(p + ".weight", vt, in, out));
    }

    /** [B, C, H, W] → [B, HW, C]. */
    private String tokens(String x, String p) {
        return g.node("Transpose", p + "tokens", g.node("Reshape", p + "tokens", x, g.int64s(p, 0, 0, -1)), Attr.ints("perm", 0, 2, 1));
    }

    /** [B, HW, C] → the shape of {@code like} ([B, C, H, W]). */
    private String image(String t, String like, String p) {
        return g.node("Reshape", p + "image", g.node("Transpose", p + "image", t, Attr.ints("perm", 0, 2, 1)), g.node("Shape", p + "image", like));
    }

    private WeightTensor tensor(String name, int... shape) { return w.get(name).requireShape(shape); }
}
