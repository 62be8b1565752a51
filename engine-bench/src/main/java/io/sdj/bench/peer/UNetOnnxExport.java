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
 * A diffusers {@code UNet2DConditionModel} (SD 1.x / 2.x, BK-SDM, LCM) or one with the efficient blocks of
 * MobileDiffusion / SnapFusion (golden README, "Efficient UNet blocks") written as an ONNX graph with the weights of
 * any {@link WeightSource}, for timing a peer runtime on exactly the model sdj runs. The graph is the one a PyTorch
 * export of the module gives, op for op: GroupNorm as Reshape → InstanceNormalization → Reshape → affine, Linear as
 * MatMul (+ Add), SiLU as x·Sigmoid(x), exact GELU through Erf, attention as MatMul → scale → Softmax (or ReLU ÷ keys)
 * → MatMul per head, a separable 3×3 conv as a grouped (depthwise) Conv and a 1×1 Conv, nearest Resize to the next
 * skip's size. Graph inputs: {@code sample} [B, in, H, W] (any H, W), {@code time_proj} [B, C₀] (the sinusoidal
 * timestep embedding, computed by the caller), {@code encoder_hidden_states} [B, S, D], and with
 * {@code time_cond_proj_dim} {@code timestep_cond} [B, that dim]; output {@code out_sample} [B, out, H, W].
 * Which optional parts a block has (self-attention, a shared K/V projection, separable convs, a conv shortcut) is read
 * from the weight names, as the model itself was built; a {@link io.sdj.models.blocks.SyntheticWeights} source must
 * therefore have served the model first. Blocks with different {@code cross_attention_dim} are refused.
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

        if (c.timeCondProjDim() != null) {
            String cond = g.input("timestep_cond", OnnxGraph.FLOAT, "batch", c.timeCondProjDim());
            timeProj = g.node("Add", "time_embedding.cond_proj", timeProj, matmul(cond, "time_embedding.cond_proj"));
        }
        String emb = linear(silu(linear(timeProj, "time_embedding.linear_1")), "time_embedding.linear_2");
        tembAct = silu(emb);

        if (c.centerInputSample()) sample = g.node("Sub", "center", g.node("Mul", "center", sample, g.scalar("center", 2f)), g.scalar("center", 1f));
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
                h = conv3x3(h, p + "downsamplers.0.conv", 2, c.downsamplePadding());
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
                h = conv3x3(up, p + "upsamplers.0.conv", 1, 1);
            }
        }
        h = silu(groupNorm(h, "conv_norm_out", c.normEps()));
        h = conv(h, "conv_out", 1, (c.convOutKernel() - 1) / 2);
        g.output(g.nodeNamed("Identity", "out_sample", List.of(h)), OnnxGraph.FLOAT, "batch", c.outChannels(), "height", "width");
    }

    // ---- blocks, as in diffusers ----

    /**
     * ResnetBlock2D: conv2(SiLU(norm2(conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(temb))))) + shortcut(x), ÷ scale; the
     * 3×3 convs separable where the level's are.
     */
    private String resnet(String x, String p, float outputScale) {
        p += ".";
        String h = conv3x3(silu(groupNorm(x, p + "norm1", c.normEps())), p + "conv1", 1, 1);
        String t = linear(tembAct, p + "time_emb_proj");
        h = g.node("Add", p + "time", h, g.node("Unsqueeze", p + "time", t, g.int64s(p, 2, 3)));
        h = conv3x3(silu(groupNorm(h, p + "norm2", c.normEps())), p + "conv2", 1, 1);
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

    /**
     * BasicTransformerBlock: self-attention (where the level has it), cross-attention, gated feed-forward, each
     * pre-LayerNorm with a residual.
     */
    private String transformerBlock(String h, String p, int heads) {
        if (w.contains(p + "attn1.to_q.weight")) {
            String n1 = layerNorm(h, p + "norm1");
            h = g.node("Add", p + "attn1", h, attention(n1, n1, p + "attn1.", heads));
        }
        String n2 = layerNorm(h, p + "norm2");
        h = g.node("Add", p + "attn2", h, attention(n2, context, p + "attn2.", heads));
        String n3 = layerNorm(h, p + "norm3");
        return g.node("Add", p + "ff", h, geglu(n3, p + "ff."));
    }

    /**
     * to_out(A·v) per head with A = softmax(s) or, for ReLU attention, max(s, 0) ÷ keys, s = q·kᵀ/√d; q from x, k and v
     * from the context (one shared to_kv projection where the module has it).
     */
    private String attention(String x, String ctx, String p, int heads) {
        WeightTensor wq = w.get(p + "to_q.weight");
        int inner = wq.dim(0), d = inner / heads;
        boolean shared = w.contains(p + "to_kv.weight");
        String kProj = shared ? matmul(ctx, p + "to_kv") : matmul(ctx, p + "to_k");
        String vProj = shared ? kProj : matmul(ctx, p + "to_v");
        String q = g.node("Transpose", p + "q", g.node("Reshape", p + "q", matmul(x, p + "to_q", wq), g.int64s(p, 0, 0, heads, d)), Attr.ints("perm", 0, 2, 1, 3));
        String k = g.node("Transpose", p + "k", g.node("Reshape", p + "k", kProj, g.int64s(p, 0, 0, heads, d)), Attr.ints("perm", 0, 2, 3, 1));
        String v = g.node("Transpose", p + "v", g.node("Reshape", p + "v", vProj, g.int64s(p, 0, 0, heads, d)), Attr.ints("perm", 0, 2, 1, 3));
        String s = g.node("Mul", p + "scores", g.node("MatMul", p + "scores", q, k), g.scalar(p, (float) (1 / Math.sqrt(d))));
        String weights;
        if (c.efficient().reluAttention()) {
            String keys = g.node("Cast", p + "relu", g.node("Shape", p + "relu", s, Attr.i("start", 3)), Attr.i("to", OnnxGraph.FLOAT));
            weights = g.node("Div", p + "relu", g.node("Relu", p + "relu", s), keys);
        } else {
            weights = g.node("Softmax", p + "softmax", s, Attr.i("axis", -1));
        }
        String a = g.node("MatMul", p + "values", weights, v);
        a = g.node("Reshape", p + "merge", g.node("Transpose", p + "merge", a, Attr.ints("perm", 0, 2, 1, 3)), g.int64s(p, 0, 0, inner));
        return linear(a, p + "to_out.0");
    }

    /** net.2(hidden · act(gate)), [hidden, gate] = net.0.proj(x) split in halves; act = exact GELU, or SiLU (SwiGLU). */
    private String geglu(String x, String p) {
        String proj = linear(x, p + "net.0.proj");
        int inner = w.get(p + "net.0.proj.bias").dim(0) / 2;
        String[] halves = g.nodeN("Split", p + "gate", List.of(proj, g.int64s(p, inner, inner)), 2, Attr.i("axis", -1));
        String gate = halves[1], act;
        if (c.efficient().swiglu()) {
            act = silu(gate);
        } else {
            String erf = g.node("Erf", p + "gelu", g.node("Div", p + "gelu", gate, g.scalar(p, (float) Math.sqrt(2))));
            act = g.node("Mul", p + "gelu", g.node("Mul", p + "gelu", gate, g.node("Add", p + "gelu", erf, g.scalar(p, 1f))), g.scalar(p, 0.5f));
        }
        return linear(g.node("Mul", p + "gate", halves[0], act), p + "net.2");
    }

    // ---- layers ----

    private String silu(String x) { return g.node("Mul", "silu", x, g.node("Sigmoid", "silu", x)); }

    /** GroupNorm(groups of c.normNumGroups()) with the affine weight and bias of {@code p}. */
    private String groupNorm(String x, String p, float eps) {
        WeightTensor scale = w.get(p + ".weight");
        int channels = scale.dim(0), groups = c.normNumGroups();
        float[] ones = new float[groups], zeros = new float[groups];
        Arrays.fill(ones, 1f);
        String grouped = g.node("Reshape", p, x, g.int64s(p, 0, groups, -1));
        String normed = g.node("InstanceNormalization", p, List.of(grouped, g.floats(p, ones, groups), g.floats(p, zeros, groups)), Attr.f("epsilon", eps));
        String back = g.node("Reshape", p, normed, g.node("Shape", p, x));
        String scaled = g.node("Mul", p, back, g.weight(p + ".weight", scale.toFloats(), channels, 1, 1));
        return g.node("Add", p, scaled, vector(p + ".bias", channels, 1, 1));
    }

    private String layerNorm(String x, String p) {
        WeightTensor scale = w.get(p + ".weight");
        int dim = scale.dim(0);
        return g.node("LayerNormalization", p, List.of(x, g.weight(p + ".weight", scale.toFloats(), dim),
                vector(p + ".bias", dim)), Attr.i("axis", -1), Attr.f("epsilon", LAYER_NORM_EPS));
    }

    /** A 3×3 conv of a block: dense, or depthwise (groups = channels, padding 1) then pointwise where the weights say so. */
    private String conv3x3(String x, String p, int stride, int pad) {
        if (!w.contains(p + ".depthwise.weight")) return conv(x, p, stride, pad);
        WeightTensor dw = w.get(p + ".depthwise.weight");
        int channels = dw.dim(0);
        String depthwise = g.node("Conv", p + ".depthwise", List.of(x, g.weight(p + ".depthwise.weight", dw.toFloats(), channels, 1, 3, 3),
                        vector(p + ".depthwise.bias", channels)),
                Attr.i("group", channels), Attr.ints("kernel_shape", 3, 3), Attr.ints("strides", stride, stride), Attr.ints("pads", 1, 1, 1, 1));
        return conv(depthwise, p + ".pointwise", 1, 0);
    }

    private String conv(String x, String p, int stride, int pad) {
        WeightTensor k = w.get(p + ".weight");
        int out = k.dim(0), in = k.dim(1), kh = k.dim(2), kw = k.dim(3);
        String weight = g.weight(p + ".weight", k.toFloats(), out, in, kh, kw);
        String bias = vector(p + ".bias", out);
        return g.node("Conv", p, List.of(x, weight, bias), Attr.ints("kernel_shape", kh, kw), Attr.ints("strides", stride, stride),
                Attr.ints("pads", pad, pad, pad, pad));
    }

    /** x · Wᵀ + b for {@code p.weight} [out, in] (a 1×1 conv weight [out, in, 1, 1] too) and {@code p.bias}. */
    private String linear(String x, String p) {
        WeightTensor t = w.get(p + ".weight");
        int out = t.dim(0);
        return g.node("Add", p, matmul(x, p, t), vector(p + ".bias", out));
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

    /** The 1-D weight {@code name} of {@code dims[0]} values (a bias, a norm's bias) as an initializer of these dims. */
    private String vector(String name, long... dims) {
        return g.weight(name, w.get(name).requireShape(Math.toIntExact(dims[0])).toFloats(), dims);
    }
}
