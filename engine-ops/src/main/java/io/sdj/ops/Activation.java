package io.sdj.ops;

/** Pointwise activations that kernels can fuse into their epilogue. */
public enum Activation {
    NONE, SILU, GELU, GELU_TANH, QUICK_GELU, RELU;

    /** Scalar reference definition (PyTorch semantics). */
    public float apply(float x) {
        return switch (this) {
            case NONE -> x;
            case SILU -> (float) (x / (1.0 + Math.exp(-x)));
            case GELU -> (float) (0.5 * x * (1.0 + Erf.erf(x / Math.sqrt(2.0))));
            case GELU_TANH -> (float) (0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x))));
            case QUICK_GELU -> (float) (x / (1.0 + Math.exp(-1.702 * x)));
            case RELU -> x > 0 ? x : 0f;
        };
    }

    /** Parses an upstream activation name ("silu", "swish", "gelu", "gelu_pytorch_tanh", "quick_gelu", "relu"). */
    public static Activation fromUpstream(String name) {
        return switch (name) {
            case "silu", "swish" -> SILU;
            case "gelu" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_tanh" -> GELU_TANH;
            case "quick_gelu" -> QUICK_GELU;
            case "relu" -> RELU;
            case "linear", "identity" -> NONE;
            default -> throw new IllegalArgumentException("unsupported activation '" + name + "'");
        };
    }
}
