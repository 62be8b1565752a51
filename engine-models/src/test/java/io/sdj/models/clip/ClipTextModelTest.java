package io.sdj.models.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Input checking and EOS pooling of the text encoder on small random weights. */
class ClipTextModelTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int V = 10, H = 8, FF = 12, T = 5;

    private static WeightSource randomWeights() {
        Map<String, WeightTensor> m = new TreeMap<>();
        Random r = new Random(3);
        put(m, r, "text_model.embeddings.token_embedding.weight", V, H);
        put(m, r, "text_model.embeddings.position_embedding.weight", T, H);
        for (String p : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
            put(m, r, "text_model.encoder.layers.0.self_attn." + p + ".weight", H, H);
            put(m, r, "text_model.encoder.layers.0.self_attn." + p + ".bias", H);
        }
        for (String p : new String[]{"layer_norm1", "layer_norm2"}) {
            put(m, r, "text_model.encoder.layers.0." + p + ".weight", H);
            put(m, r, "text_model.encoder.layers.0." + p + ".bias", H);
        }
        put(m, r, "text_model.encoder.layers.0.mlp.fc1.weight", FF, H);
        put(m, r, "text_model.encoder.layers.0.mlp.fc1.bias", FF);
        put(m, r, "text_model.encoder.layers.0.mlp.fc2.weight", H, FF);
        put(m, r, "text_model.encoder.layers.0.mlp.fc2.bias", H);
        put(m, r, "text_model.final_layer_norm.weight", H);
        put(m, r, "text_model.final_layer_norm.bias", H);
        return new WeightSource() {
            @Override public WeightTensor get(String name) {
                WeightTensor t = m.get(name);
                if (t == null) throw new IllegalArgumentException("missing " + name);
                return t;
            }
            @Override public boolean contains(String name) { return m.containsKey(name); }
            @Override public Set<String> names() { return m.keySet(); }
        };
    }

    private static void put(Map<String, WeightTensor> m, Random r, String name, int... shape) {
        float[] v = new float[(int) io.sdj.core.Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        m.put(name, WeightTensor.ofFloats(name, v, shape));
    }

    private static ClipTextModel model(int eos) {
        ObjectNode c = JSON.createObjectNode();
        c.put("vocab_size", V).put("hidden_size", H).put("intermediate_size", FF).put("num_hidden_layers", 1)
                .put("num_attention_heads", 2).put("max_position_embeddings", T).put("hidden_act", "gelu").put("eos_token_id", eos);
        return ClipTextModel.load(c, randomWeights());
    }

    @Test
    void poolsAtFirstLargestIdForLegacyEosTwo() {
        ClipTextModel m = model(2);
        assertThat(m.eosPosition(new int[]{8, 1, 9, 9, 0})).isEqualTo(2);
        assertThat(m.eosPosition(new int[]{3, 3, 3})).isEqualTo(0);
    }

    @Test
    void poolsAtFirstEosIdOtherwise() {
        ClipTextModel m = model(7);
        assertThat(m.eosPosition(new int[]{8, 1, 9, 7, 7})).isEqualTo(3);
        assertThat(m.eosPosition(new int[]{8, 1, 9})).isEqualTo(0);
    }

    @Test
    void pooledRowIsTheLastHiddenStateAtTheEos() {
        ClipTextModel m = model(2);
        ClipTextOutput o = m.forward(new Workspace(), new int[][]{{8, 1, 9, 9, 0}, {9, 1, 2, 3, 4}}, Trace.NONE);
        for (int c = 0; c < H; c++) {
            assertThat(o.pooled().data()[c]).isEqualTo(o.lastHiddenState().data()[2 * H + c]);
            assertThat(o.pooled().data()[H + c]).isEqualTo(o.lastHiddenState().data()[(T + 0) * H + c]);
        }
        // one layer: the penultimate hidden state is the embedding, clip-skip-1 its final layer norm
        assertThat(o.penultimate().shape()).containsExactly(2, T, H);
    }

    @Test
    void rejectsBadIdsWithAClearMessage() {
        ClipTextModel m = model(2);
        Workspace ws = new Workspace();
        assertThatThrownBy(() -> m.forward(ws, new int[][]{{1, 2, 10}}, Trace.NONE)).hasMessageContaining("token id 10");
        assertThatThrownBy(() -> m.forward(ws, new int[][]{{1, 2, 3, 4, 5, 6}}, Trace.NONE)).hasMessageContaining("sequence length 6");
        assertThatThrownBy(() -> m.forward(ws, new int[][]{{1, 2}, {1}}, Trace.NONE)).hasMessageContaining("row 1");
    }

    @Test
    void rejectsWeightsThatAreNotAClipTextEncoder() {
        ObjectNode c = JSON.createObjectNode();
        WeightSource empty = new WeightSource() {
            @Override public WeightTensor get(String name) { throw new IllegalArgumentException(name); }
            @Override public boolean contains(String name) { return false; }
            @Override public Set<String> names() { return Set.of(); }
        };
        assertThatThrownBy(() -> ClipTextModel.load(c, empty)).hasMessageContaining("not a CLIP text encoder");
    }
}
