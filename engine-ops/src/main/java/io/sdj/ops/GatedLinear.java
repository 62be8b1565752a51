package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

import static io.sdj.ops.GemmKernel.L;
import static io.sdj.ops.GemmKernel.NR;
import static io.sdj.ops.PackedMatrix.ceilDiv;

/**
 * A gated linear unit as diffusers' GEGLU / SwiGLU feed-forward computes it, in one GEMM:
 * {@code z = x·Wᵀ + b} with W [2·inner, in], then {@code value · act(gate)} with value = z[..., :inner] and
 * gate = z[..., inner:] (act = exact GELU for GEGLU, SiLU for SwiGLU), shape [..., inner].
 * <p>W's columns are packed so that every 2·L panel holds L value columns followed by the L matching gate columns;
 * the gate is applied in the GEMM's epilogue ({@link GemmEpilogue.Gate}) while each finished tile is in L1, and the
 * 2·inner projection is never stored as a matrix ({@link Gemm#multiplyGated}).
 */
public final class GatedLinear {
    private final String name;
    private final int in, inner, panels;
    private final PackedMatrix w;   // [in, panels·2L] interleaved value/gate panels
    private final float[] bias;     // [panels·2L] interleaved, or null
    private final Activation gate;

    public GatedLinear(WeightTensor weight, WeightTensor bias, Activation gate) {
        if (weight.shape().length != 2 || weight.dim(0) % 2 != 0 || weight.dim(0) < 2 || weight.dim(1) < 1) {
            throw new IllegalArgumentException("gated linear weight '" + weight.name() + "' must be [2·inner, in], got " + weight);
        }
        if (gate != Activation.GELU && gate != Activation.SILU) throw new IllegalArgumentException("gated linear: gate activation must be GELU or SILU, got " + gate);
        if (NR != 2 * L) throw new IllegalStateException("gated linear needs GEMM panels of two vectors, NR = " + NR);
        this.name = weight.name();
        this.in = weight.dim(1);
        this.inner = weight.dim(0) / 2;
        this.panels = ceilDiv(inner, L);
        this.gate = gate;
        // 16-bit weights stay 16-bit (PackedMatrix.packedType), packed as a Linear's are, in this column order
        this.w = PackedMatrix.transposedColumnPanels(weight, panels * NR, this::sourceRow);
        if (bias != null) {
            bias.requireShape(2 * inner);
            float[] b = bias.toFloats();
            this.bias = new float[panels * NR];
            for (int c = 0; c < this.bias.length; c++) {
                int o = sourceRow(c);
                if (o >= 0) this.bias[c] = b[o];
            }
        } else {
            this.bias = null;
        }
    }

    /**
     * The projection output (row of W) in packed column {@code c}: panel c / 2L holds value outputs j … j + L − 1 in
     * its first L lanes and the matching gate outputs inner + j … in the next L (j = (c / 2L)·L); −1 past inner.
     */
    private int sourceRow(int c) {
        int lane = c % NR, j = (c / NR) * L + lane % L;
        if (j >= inner) return -1;
        return lane < L ? j : inner + j;
    }

    public int inFeatures() { return in; }
    public int innerFeatures() { return inner; }
    PackedMatrix packedWeight() { return w; }

    /** value · act(gate) of x·Wᵀ + b; x [..., in] → [..., inner]. */
    public Tensor forward(Workspace ws, Tensor x) {
        if (x.rank() < 1 || x.dim(-1) != in) {
            throw new IllegalArgumentException("gated linear '" + name + "': input " + x + " has last dimension "
                    + (x.rank() < 1 ? "none" : x.dim(-1)) + ", expected " + in);
        }
        int[] shape = x.shape();
        shape[shape.length - 1] = inner;
        Tensor y = ws.take(shape);
        int rows = x.numel() / in;
        if (rows == 0) return y;
        Gemm.multiplyGated(x.data(), 0, in, rows, w, GemmEpilogue.gated(bias, gate, new GemmEpilogue.Gate(y.data(), inner)));
        return y;
    }
}
