package io.sdj.models.profile;

/** What a part of the UNet computes, from its marked name (or a weight's name under it). */
public enum PartKind {
    RESNET("resnet"), SELF_ATTENTION("self-attention"), CROSS_ATTENTION("cross-attention"), FEED_FORWARD("feed-forward"), OTHER("other");

    private final String label;

    PartKind(String label) { this.label = label; }

    public String label() { return label; }

    /**
     * {@code *.resnets.j*} → resnet; a transformer layer's {@code attn1}/{@code norm1} → self-attention,
     * {@code attn2}/{@code norm2} → cross-attention, {@code ff}/{@code norm3} → feed-forward; everything else
     * (conv_in/out, time embedding, norms and projections around the transformer layers, resamplers) → other.
     */
    public static PartKind of(String name) {
        if (name.contains(".resnets.")) return RESNET;
        int t = name.indexOf(".transformer_blocks.");
        if (t >= 0) {
            String rest = name.substring(name.indexOf('.', t + ".transformer_blocks.".length()) + 1);
            if (rest.startsWith("attn1") || rest.startsWith("norm1")) return SELF_ATTENTION;
            if (rest.startsWith("attn2") || rest.startsWith("norm2")) return CROSS_ATTENTION;
            if (rest.startsWith("ff") || rest.startsWith("norm3")) return FEED_FORWARD;
        }
        return OTHER;
    }
}
